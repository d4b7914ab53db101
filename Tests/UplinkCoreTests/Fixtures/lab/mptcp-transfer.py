#!/usr/bin/env python3
"""One MPTCP (or plain TCP) download, for the lab: a source that sends zeros to every
connection, and a sink that reads for a bounded time and prints the bytes it got.

  mptcp-transfer.py serve ADDRESS PORT [tcp]     prints "listening", then serves until killed
  mptcp-transfer.py fetch ADDRESS PORT SECONDS [tcp]
      prints "BYTES" received over one connection, reading for at most SECONDS
IPPROTO_MPTCP (262) unless "tcp" is given; a peer without MPTCP falls back to plain TCP.
"""
import socket
import sys
import threading
import time

MPTCP = 262
mode, address, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
protocol = 0 if sys.argv[-1] == "tcp" else MPTCP

if mode == "serve":
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM, protocol)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind((address, port))
    server.listen(16)
    print("listening", flush=True)

    def send(connection):
        chunk = bytes(65536)
        try:
            while True:
                connection.sendall(chunk)
        except OSError:
            connection.close()

    while True:
        threading.Thread(target=send, args=(server.accept()[0],), daemon=True).start()
else:
    seconds = float(sys.argv[4])
    client = socket.socket(socket.AF_INET, socket.SOCK_STREAM, protocol)
    client.settimeout(2)
    client.connect((address, port))
    end = time.monotonic() + seconds
    received = 0
    try:
        while time.monotonic() < end:
            data = client.recv(262144)
            if not data:
                break
            received += len(data)
    except OSError:
        pass
    client.close()
    print(received)
