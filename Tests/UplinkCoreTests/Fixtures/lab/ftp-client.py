#!/usr/bin/env python3
"""Lab FTP-like client: COUNT sessions with ftp-server.py, one after the other, each with a
control connection and one passive-mode data connection.

Usage: ftp-client.py ADDRESS COUNT

Prints one line per session: "CONTROL|DATA", what the server saw of each connection
("198.18.2.2 g2|198.18.2.2 g2"), or "error: ..." for a session that failed.
"""
import re
import socket
import sys

TIMEOUT = 3.0
MAX_COUNT = 100
address = sys.argv[1] if len(sys.argv) > 1 else ""
count = int(sys.argv[2]) if len(sys.argv) > 2 and sys.argv[2].isdigit() else -1
if not address or not 0 <= count <= MAX_COUNT:
    sys.exit(f"usage: {sys.argv[0]} ADDRESS COUNT(0-{MAX_COUNT})")


def session():
    with socket.create_connection((address, 21), timeout=TIMEOUT) as control:
        replies = control.makefile("r", encoding="ascii", newline="\r\n")
        greeting = replies.readline().strip()
        control.sendall(b"PASV\r\n")
        passive = replies.readline().strip()
        match = re.search(r"\((\d+),(\d+),(\d+),(\d+),(\d+),(\d+)\)", passive)
        if not greeting.startswith("220 ") or not match:
            return f"error: unexpected replies {greeting!r} {passive!r}"
        host = ".".join(match.group(1, 2, 3, 4))
        port = int(match.group(5)) * 256 + int(match.group(6))
        with socket.create_connection((host, port), timeout=TIMEOUT) as data:
            seen = data.makefile("r").readline().strip()
        done = replies.readline().strip()
        control.sendall(b"QUIT\r\n")
        replies.readline()
        if not done.startswith("226"):
            return f"error: {done!r}"
        return f"{greeting[4:]}|{seen}"


for _ in range(count):
    try:
        line = session()
    except OSError as error:
        line = f"error: {error.strerror or error}"
    print(line, flush=True)
