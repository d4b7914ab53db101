#!/usr/bin/env python3
"""Case 4's sender, run by accuracy.py inside the lab's host: COUNT datagrams, each from a fresh
socket bound to its own source port (so each is a new conntrack entry; kernel-chosen ports would
repeat earlier ones, and such a datagram would follow its old connection instead of opening a
new one). echo: to the echo server, printing its answer ("198.18.2.2 g2"); discard: to port 9.

Usage: udp_send.py echo|discard COUNT FIRST_PORT
"""
import os
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from lab import SERVICE  # noqa: E402


def send(mode, count, first_port):
    for port in range(first_port, first_port + count):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind(("0.0.0.0", port))
            if mode == "discard":
                sock.sendto(b"x", (SERVICE, 9))
                continue
            sock.settimeout(2.0)
            sock.sendto(b"?\n", (SERVICE, 7))
            try:
                print(sock.recvfrom(64)[0].decode().strip())
            except socket.timeout:
                print("timeout")


if __name__ == "__main__":
    send(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
