"""Opens a new TCP connection to the echo server every INTERVAL ms, COUNT times, each in its
own thread, and prints one JSON line per connection: when it started (CLOCK_MONOTONIC, seconds,
the clock every namespace shares), whether it was answered within TIMEOUT, and by which gateway
("198.18.2.2 g2" says g2). Run inside a lab namespace. Bounded: COUNT at most 2000."""
import json
import socket
import sys
import threading
import time

count, interval = min(int(sys.argv[1]), 2000), float(sys.argv[2]) / 1000
address, port, timeout = sys.argv[3], int(sys.argv[4]), float(sys.argv[5])
results = [None] * count


def attempt(index, started):
    uplink = None
    try:
        with socket.create_connection((address, port), timeout=timeout) as sock:
            answer = sock.recv(64).decode(errors="replace").split()
            if len(answer) == 2 and answer[1].startswith("g"):
                uplink = int(answer[1][1:])
    except OSError:
        pass
    results[index] = {"t": started, "ok": uplink is not None, "uplink": uplink}


threads = []
begin = time.monotonic()
for index in range(count):
    time.sleep(max(0, begin + index * interval - time.monotonic()))
    thread = threading.Thread(target=attempt, args=(index, time.monotonic()))
    thread.start()
    threads.append(thread)
for thread in threads:
    thread.join()
for result in results:
    print(json.dumps(result))
