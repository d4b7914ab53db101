"""The bench's UDP sender, run by path inside a lab namespace (it imports nothing of tools/).

    udp_send.py echo|discard|flows COUNT FIRST_PORT ADDRESS

echo: COUNT datagrams to ADDRESS port 7 (the echo server), each from a fresh socket bound to its
own source port, FIRST_PORT, FIRST_PORT + 1, ... (so each is a new conntrack entry; kernel-chosen
ports would repeat earlier ones, and such a datagram would follow its old connection instead of
opening a new one); prints each answer ("198.18.2.2 g2") or "timeout" (2 s).
discard: the same to port 9, no answer awaited.
flows: COUNT datagrams from one socket, each to its own destination port FIRST_PORT, ... (each a
new conntrack entry too); prints the CPU time the loop took (user + system: the packets' whole
path through the namespaces runs in its sendto calls), so that other load on the machine counts
less. Bounded: COUNT at most 100,000.
"""
import socket
import sys
import time

MAX_COUNT = 100_000


def fresh_sockets(mode, count, first_port, address):
    for port in range(first_port, first_port + count):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind(("0.0.0.0", port))
            if mode == "discard":
                sock.sendto(b"x", (address, 9))
                continue
            sock.settimeout(2.0)
            sock.sendto(b"?\n", (address, 7))
            try:
                print(sock.recvfrom(64)[0].decode().strip())
            except socket.timeout:
                print("timeout")


def flows(count, first_port, address):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    start = time.process_time()
    for port in range(first_port, first_port + count):
        sock.sendto(b"x", (address, port))
    print(time.process_time() - start)


if __name__ == "__main__":
    mode, count, first_port, address = sys.argv[1], min(int(sys.argv[2]), MAX_COUNT), int(sys.argv[3]), sys.argv[4]
    if mode == "flows":
        flows(count, first_port, address)
    elif mode in ("echo", "discard"):
        fresh_sockets(mode, count, first_port, address)
    else:
        sys.exit(f"usage: {sys.argv[0]} echo|discard|flows COUNT FIRST_PORT ADDRESS")
