#!/usr/bin/env python3
"""Lab echo client: COUNT connections to the echo server, one after the other, each from a
fresh socket (so a fresh source port and a fresh conntrack entry).

Usage: echo-client.py tcp|udp COUNT [ADDRESS]   (default 198.19.0.1; port 7)

Prints one line per connection: the answer ("198.18.2.2 g2"), "timeout" when no answer
came within TIMEOUT seconds, or "error: ..." when the connection failed outright.
"""
import socket
import sys

TIMEOUT = 2.0
MAX_COUNT = 1000  # bounded: at worst MAX_COUNT * TIMEOUT seconds

transport = sys.argv[1] if len(sys.argv) > 1 else None
count = int(sys.argv[2]) if len(sys.argv) > 2 and sys.argv[2].isdigit() else -1
address = sys.argv[3] if len(sys.argv) > 3 else "198.19.0.1"
port = 7
if transport not in ("tcp", "udp") or not 0 <= count <= MAX_COUNT:
    sys.exit(f"usage: {sys.argv[0]} tcp|udp COUNT(0-{MAX_COUNT}) [ADDRESS]")


def ask():
    kind = socket.SOCK_STREAM if transport == "tcp" else socket.SOCK_DGRAM
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.settimeout(TIMEOUT)
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


for _ in range(count):
    try:
        line = ask()
    except socket.timeout:
        line = "timeout"
    except OSError as error:
        line = f"error: {error.strerror or error}"
    print(line, flush=True)
