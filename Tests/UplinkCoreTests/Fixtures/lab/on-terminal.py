"""Runs a command on a pseudo-terminal, as a person at a terminal would: prints everything it
writes, presses Enter once `needle` has appeared (if given), and exits with its status.
Bounded: the command is killed after `seconds`.
usage: on-terminal.py SECONDS NEEDLE|- COMMAND..."""
import os, pty, select, signal, sys, time

seconds, needle, command = float(sys.argv[1]), sys.argv[2], sys.argv[3:]
pid, terminal = pty.fork()
if pid == 0:
    os.execvp(command[0], command)
seen, pressed, end = b"", needle == "-", time.monotonic() + seconds
while time.monotonic() < end:
    ready, _, _ = select.select([terminal], [], [], 0.1)
    if ready:
        try:
            chunk = os.read(terminal, 4096)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
        if not pressed and needle.encode() in seen:
            os.write(terminal, b"\n")
            pressed = True
else:
    os.kill(pid, signal.SIGKILL)
_, status = os.waitpid(pid, 0)
sys.stdout.write(seen.decode(errors="replace"))
sys.exit(os.waitstatus_to_exitcode(status))
