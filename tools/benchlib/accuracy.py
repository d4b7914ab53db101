"""Case 4, balance accuracy: new UDP connections in nth and random mode, counted by uplinkctl's
counters and, for nth, checked one by one at the server."""
import os
import subprocess
import sys

from ..lab import SERVICE, Lab

from .harness import PREFIX, PROGRAMS, ROOT, in_ns, progress
from .methods import install

NTH_CONNECTIONS = 1000
RANDOM_CONNECTIONS = 10000
ACCURACY_WEIGHTS = ([1, 1, 1], [3, 2, 1])
ECHO_SERVER = os.path.join(ROOT, "Tests/UplinkCoreTests/Fixtures/lab/echo-server.py")
UDP_SEND = os.path.join(PROGRAMS, "udp_send.py")


# Measuring

def start_echo_server(lab):
    process = subprocess.Popen(["ip", "netns", "exec", lab.server, sys.executable, ECHO_SERVER, SERVICE]
                               + [f"g{n}" for n in range(1, lab.count + 1)],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    lab.processes.append(process)
    if process.stdout.readline().strip() != "listening":
        raise RuntimeError("echo server did not start")


def balance(bench, lab, mode, weights, count, first_port):
    """A fresh apply in `mode`, `count` new connections from the host, a flush: (uplinkctl's
    counts per uplink, the lines the sender printed)."""
    config = install(bench, lab.host, f"uplinkctl {mode}", weights)
    sent = in_ns(lab.host, sys.executable, UDP_SEND, "echo" if mode == "nth" else "discard",
                 str(count), str(first_port), SERVICE).splitlines()
    counts = bench.connections(lab.host, config)
    bench.uplinkctl("flush", "--netns", lab.host)
    return counts, sent


def window_check(sequence, weights):
    """How many windows of W consecutive connections hold each uplink exactly its weight."""
    total = sum(weights)
    windows = [sequence[i:i + total] for i in range(len(sequence) - total + 1)]
    good = sum(1 for w in windows if [w.count(u) for u in range(len(weights))] == weights)
    return good, len(windows)


def prefix_deviation(sequence, weights):
    """The largest |count − n·w/W| over every prefix of the sequence and every uplink."""
    counts, worst = [0] * len(weights), 0.0
    for n, uplink in enumerate(sequence, start=1):
        counts[uplink] += 1
        worst = max(worst, max(abs(c - n * w / sum(weights)) for c, w in zip(counts, weights)))
    return worst


def accuracy_nth(bench, lab, weights, first_port):
    counts, answers = balance(bench, lab, "nth", weights, NTH_CONNECTIONS, first_port)
    # "198.18.2.2 g2": masqueraded to up2's address, and it reached the server by g2.
    sequence = []
    for answer in answers:
        parts = answer.split()
        if len(parts) == 2 and parts[1].startswith("g") and parts[0] == f"198.18.{parts[1][1:]}.2":
            sequence.append(int(parts[1][1:]) - 1)
    good, windows = window_check(sequence, weights)
    return {"mode": "nth", "weights": weights, "n": NTH_CONNECTIONS, "counts": counts,
            "answered": len(sequence), "seq_counts": [sequence.count(u) for u in range(len(weights))],
            "windows_good": good, "windows": windows, "first": sequence[:sum(weights)],
            "prefix_dev": prefix_deviation(sequence, weights)}


def accuracy_random(bench, lab, weights, first_port):
    counts, _ = balance(bench, lab, "random", weights, RANDOM_CONNECTIONS, first_port)
    return {"mode": "random", "weights": weights, "n": RANDOM_CONNECTIONS, "counts": counts}


def deviations(row):
    """Per uplink: (count − expected) in connections, and as % of the expected count."""
    total, n = sum(row["weights"]), sum(row["counts"])
    expected = [n * w / total for w in row["weights"]]
    return ([c - e for c, e in zip(row["counts"], expected)],
            [100 * (c - e) / e for c, e in zip(row["counts"], expected)], expected)


def measure(bench):
    progress(f"case 4: balance accuracy, {NTH_CONNECTIONS} nth and {RANDOM_CONNECTIONS} random new connections")
    rows = []
    with Lab(f"{PREFIX}-acc", uplinks=3, lan=False) as lab:
        start_echo_server(lab)
        port = 20000  # each connection its own source port, across the scenarios too
        for weights in ACCURACY_WEIGHTS:
            for scenario, count in ((accuracy_nth, NTH_CONNECTIONS), (accuracy_random, RANDOM_CONNECTIONS)):
                in_ns(lab.host, "conntrack", "-F")  # the last scenario's entries carry its marks
                row = scenario(bench, lab, weights, port)
                port += count
                rows.append(row)
                absolute, relative, _ = deviations(row)
                progress(f"  {row['mode']:6} {':'.join(map(str, weights))}: {row['counts']}  max deviation "
                         f"{max(map(abs, absolute)):.2f} conns ({max(map(abs, relative)):.2f}%)")
    return rows
