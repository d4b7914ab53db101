#!/usr/bin/env python3
"""Lab UDP flows that live on: commands on standard input, one per line, one answer line each.

  new ADDRESS [PORT]   a fresh socket (a new flow) sends one datagram; prints "ID ANSWER"
  again ID             that flow's socket sends again (the same 5-tuple); prints "ID ANSWER"

ANSWER is what the echo server said ("198.18.2.2 g2") or "timeout" (2 s). Bounded: at most
200 flows, and the program ends with its standard input.
"""
import socket
import sys

TIMEOUT = 2.0
flows = []


def ask(sock, address):
    try:
        sock.sendto(b"?\n", address)
        answer, _ = sock.recvfrom(64)
        return answer.decode(errors="replace").strip()
    except socket.timeout:
        return "timeout"
    except OSError as error:
        return f"error: {error.strerror or error}"


for line in sys.stdin:
    words = line.split()
    if words[:1] == ["new"] and len(flows) < 200:
        address = (words[1], int(words[2]) if len(words) > 2 else 7)
        sock = socket.socket(socket.AF_INET6 if ":" in words[1] else socket.AF_INET, socket.SOCK_DGRAM)
        sock.settimeout(TIMEOUT)
        flows.append((sock, address))
        print(len(flows) - 1, ask(sock, address), flush=True)
    elif words[:1] == ["again"]:
        index = int(words[1])
        sock, address = flows[index]
        print(index, ask(sock, address), flush=True)
    else:
        print("? unknown command", flush=True)
