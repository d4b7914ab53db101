#!/usr/bin/env python3
"""Lab echo client: COUNT connections to the echo server, one after the other, each from a
fresh socket (so a fresh source port and a fresh conntrack entry).

Usage: echo-client.py tcp|udp COUNT [ADDRESS [PORT [SOURCE,SOURCE... [MARK]]]]
       (default 198.19.0.1, port 7; IPv6 when ADDRESS has a colon)

With SOURCEs, the socket is bound to each source address in turn (COUNT connections from
each, in the order given): a program that chose its source address. With MARK (such as
0xca6c), every socket carries that fwmark (SO_MARK), as a VPN's own sockets do.

Prints one line per connection: the answer ("198.18.2.2 g2"), "timeout" when no answer
came within TIMEOUT seconds, or "error: ..." when the connection failed outright.
"""
import socket
import sys

TIMEOUT = 2.0
MAX_COUNT = 1000  # bounded: at worst MAX_COUNT * TIMEOUT seconds per source

transport = sys.argv[1] if len(sys.argv) > 1 else None
count = int(sys.argv[2]) if len(sys.argv) > 2 and sys.argv[2].isdigit() else -1
address = sys.argv[3] if len(sys.argv) > 3 else "198.19.0.1"
port = int(sys.argv[4]) if len(sys.argv) > 4 else 7
sources = sys.argv[5].split(",") if len(sys.argv) > 5 and sys.argv[5] else [None]
mark = int(sys.argv[6], 0) if len(sys.argv) > 6 else None
if transport not in ("tcp", "udp") or not 0 <= count <= MAX_COUNT or len(sources) > MAX_COUNT:
    sys.exit(f"usage: {sys.argv[0]} tcp|udp COUNT(0-{MAX_COUNT}) [ADDRESS [PORT [SOURCE,...]]]")
family = socket.AF_INET6 if ":" in address else socket.AF_INET


used_ports = set()


def fresh_udp_socket(source):
    """A UDP socket on a source port this run has not used: conntrack keeps a finished UDP
    flow for 30 s, and a datagram on its tuple would follow it instead of opening a new
    connection. The kernel picks ports at random, so a repeat is rare; retry a bounded time."""
    for _ in range(100):
        sock = socket.socket(family, socket.SOCK_DGRAM)
        sock.bind((source or ("::" if family == socket.AF_INET6 else "0.0.0.0"), 0))
        port = sock.getsockname()[1]
        if port not in used_ports:
            used_ports.add(port)
            return sock
        sock.close()
    sys.exit("no unused source port in 100 tries")


def ask(source):
    kind = socket.SOCK_STREAM if transport == "tcp" else socket.SOCK_DGRAM
    with (socket.socket(family, kind) if transport == "tcp" else fresh_udp_socket(source)) as sock:
        sock.settimeout(TIMEOUT)
        if mark is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_MARK, mark)
        if source and transport == "tcp":
            sock.bind((source, 0))
        if transport == "tcp":
            sock.connect((address, port))
            answer = b""
            while not answer.endswith(b"\n"):
                chunk = sock.recv(64)
                if not chunk:
                    break
                answer += chunk
        else:
            sock.sendto(b"?\n", (address, port))
            answer, _ = sock.recvfrom(64)
        return answer.decode(errors="replace").strip() or "empty answer"


for source in sources:
    for _ in range(count):
        try:
            line = ask(source)
        except socket.timeout:
            line = "timeout"
        except OSError as error:
            line = f"error: {error.strerror or error}"
        print(line, flush=True)
