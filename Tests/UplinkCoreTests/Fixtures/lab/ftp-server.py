#!/usr/bin/env python3
"""Lab FTP-like server: just enough FTP for the kernel's FTP conntrack helper to see a
passive-mode data connection coming (it reads the "227 Entering Passive Mode" reply).

Usage: ftp-server.py ADDRESS DEVICE...

Listens on ADDRESS port 21, one socket per DEVICE (SO_BINDTODEVICE), like echo-server.py.
Greets with "220 PEER DEVICE" (the control connection's source and interface). On PASV it
listens on one new port, again once per device, answers 227 with it, and sends the data
connection's "PEER DEVICE" over that connection, then "226". QUIT ends a session. One
session at a time (the lab's clients are sequential); every wait is bounded.
Prints "listening" once the control sockets are bound.
"""
import select
import socket
import sys

TIMEOUT = 3.0
address, devices = sys.argv[1], sys.argv[2:]


def listeners(port):
    socks = []
    for device in devices:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, device.encode())
        sock.bind((address, port))
        sock.listen(8)
        port = sock.getsockname()[1]  # the first socket picks the port, the others share it
        socks.append((sock, device))
    return socks


def accept(socks, timeout=None):
    ready, _, _ = select.select([s for s, _ in socks], [], [], timeout)
    if not ready:
        return None
    device = dict((s, d) for s, d in socks)[ready[0]]
    connection, (peer, _) = ready[0].accept()
    connection.settimeout(TIMEOUT)
    return connection, f"{peer} {device}"


def session(control, seen):
    control.sendall(f"220 {seen}\r\n".encode())
    for line in control.makefile("r", encoding="ascii", newline="\r\n"):
        command = line.strip().upper()
        if command == "PASV":
            data = listeners(0)
            try:
                port = data[0][0].getsockname()[1]
                numbers = address.replace(".", ",") + f",{port >> 8},{port & 255}"
                control.sendall(f"227 Entering Passive Mode ({numbers}).\r\n".encode())
                accepted = accept(data, TIMEOUT)
                if accepted:
                    with accepted[0]:
                        accepted[0].sendall(f"{accepted[1]}\n".encode())
                    control.sendall(b"226 Transfer complete.\r\n")
                else:
                    control.sendall(b"425 No data connection.\r\n")
            finally:
                for sock, _ in data:
                    sock.close()
        elif command == "QUIT":
            control.sendall(b"221 Bye.\r\n")
            return
        else:
            control.sendall(b"502 Not implemented.\r\n")


control_sockets = listeners(21)
print("listening", flush=True)
while True:
    accepted = accept(control_sockets)
    if accepted:
        try:
            with accepted[0]:
                session(*accepted)
        except OSError:
            pass  # a client that went away must not stop the server
