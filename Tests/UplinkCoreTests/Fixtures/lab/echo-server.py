#!/usr/bin/env python3
"""Lab echo server: answers each TCP connection and each UDP datagram with the source
address it saw and the interface it came in by, as one line of text ("198.18.2.2 g2\n").

Usage: echo-server.py [--ports 7,21,...] [--name NAME] ADDRESS[,ADDRESS...] [DEVICE...]

ADDRESS may list IPv4 and IPv6 addresses, comma-separated (0.0.0.0 or :: for any). With
DEVICEs, one TCP and one UDP socket per address, port and device, each bound to its device
(SO_BINDTODEVICE), so the socket that answers names the interface; its answers leave by that
interface too. Without, one unbound socket each, answering "- " for the interface: a service
that lets the routing tables decide where its answers go. Ports default to 7. With --name,
an unbound server answers NAME for the interface: a service's backend says which it is.
Prints "listening" once every socket is bound, so the lab can wait for it, and nothing after.
One thread and a selector: every answer is immediate, so no connection waits for another.
"""
import selectors
import socket
import sys

arguments = sys.argv[1:]
ports = [7]
if len(arguments) >= 2 and arguments[0] == "--ports":
    ports = [int(port) for port in arguments[1].split(",")]
    arguments = arguments[2:]
name = "-"
if len(arguments) >= 2 and arguments[0] == "--name":
    name = arguments[1]
    arguments = arguments[2:]
if not arguments:
    sys.exit(f"usage: {sys.argv[0]} [--ports 7,21,...] [--name NAME] ADDRESS[,ADDRESS...] [DEVICE...]")
addresses, devices = arguments[0].split(","), arguments[1:] or [None]

selector = selectors.DefaultSelector()
for address in addresses:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    for port in ports:
        for device in devices:
            for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
                sock = socket.socket(family, kind)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                if family == socket.AF_INET6:
                    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                if device:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, device.encode())
                sock.bind((address, port))
                if kind == socket.SOCK_STREAM:
                    sock.listen(128)
                selector.register(sock, selectors.EVENT_READ, device or name)

print("listening", flush=True)

while True:
    for key, _ in selector.select():
        sock, device = key.fileobj, key.data
        try:
            if sock.type == socket.SOCK_STREAM:
                connection, peer = sock.accept()
                with connection:
                    connection.settimeout(2)
                    connection.sendall(f"{peer[0]} {device}\n".encode())
            else:
                _, peer = sock.recvfrom(2048)
                sock.sendto(f"{peer[0]} {device}\n".encode(), peer)
        except OSError:
            # A client that went away must not stop the server.
            pass
