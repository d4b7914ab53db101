#!/usr/bin/env python3
"""Lab echo server: answers each TCP connection and each UDP datagram to ADDRESS port 7
with the source address it saw and the interface it came in by, as one line of text
("198.18.2.2 g2\n").

Usage: echo-server.py ADDRESS DEVICE...

One TCP and one UDP socket per DEVICE, each bound to it (SO_BINDTODEVICE), so the socket
that answers names the interface; its answers leave by that interface too. Prints
"listening" once every socket is bound, so the lab can wait for it, and nothing after.
One thread and a selector: every answer is immediate, so no connection waits for another.
"""
import selectors
import socket
import sys

PORT = 7
address, devices = sys.argv[1], sys.argv[2:]
if not devices:
    sys.exit(f"usage: {sys.argv[0]} ADDRESS DEVICE...")

selector = selectors.DefaultSelector()
for device in devices:
    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
        sock = socket.socket(socket.AF_INET, kind)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, device.encode())
        sock.bind((address, PORT))
        if kind == socket.SOCK_STREAM:
            sock.listen(128)
        selector.register(sock, selectors.EVENT_READ, device)

print("listening", flush=True)

while True:
    for key, _ in selector.select():
        sock, device = key.fileobj, key.data
        try:
            if sock.type == socket.SOCK_STREAM:
                connection, (peer, _) = sock.accept()
                with connection:
                    connection.settimeout(2)
                    connection.sendall(f"{peer} {device}\n".encode())
            else:
                _, (peer, peer_port) = sock.recvfrom(2048)
                sock.sendto(f"{peer} {device}\n".encode(), (peer, peer_port))
        except OSError:
            # A client that went away must not stop the server.
            pass
