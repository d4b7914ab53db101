#!/usr/bin/env python3
"""make bench: uplinkctl measured against the hand-made ways, in labs of network namespaces.

1. Bandwidth aggregation: downloads with P parallel streams over three shaped uplinks, as a
   share of the practical sum (the three links' single-stream goodputs, measured in the same
   run), for uplinkctl nth, uplinkctl random, the seed's iptables recipe and the kernel's ECMP;
   then unequal links (30/20/10 Mbit/s, weights 3:2:1).
2. Apply latency for 2, 8 and 32 uplinks: uplinkctl apply, its own dry-run iptables script,
   nft -f + ip -batch + sysctl, and a re-apply with no change.
3. Data-plane cost: one unshaped TCP stream with no ruleset, uplinkctl's, and the seed's.
4. Balance accuracy: new UDP connections in nth and random mode, counted by uplinkctl's
   counters and, for nth, checked one by one at the server.
5. docs/aggregation.svg: case 1 as a chart.

Writes docs/benchmarks.md and docs/aggregation.svg (figures measured in this run, never
typed in). Every namespace is named ulk-bench-PID-* and removed at the end, also on Ctrl-C
or an error; nothing touches this machine's own network, and no packet leaves the labs.

Usage: bench.py UPLINKCTL_BINARY [--cases 1,2,3,4] [--runs N] [--out DIR]
       bench.py --udp-send echo|discard COUNT FIRST_PORT    (run inside the lab's host)
"""
import argparse
import contextlib
import datetime
import json
import math
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time

TOOLS = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(TOOLS)
sys.path.insert(0, TOOLS)
from lab import SERVICE, Lab, install_signal_handlers, require_root, sh  # noqa: E402

PREFIX = f"ulk-bench-{os.getpid()}"
ECHO_SERVER = os.path.join(ROOT, "Tests/UplinkCoreTests/Fixtures/lab/echo-server.py")

# Case 1. iperf3 -t SECONDS after -O 1 s of warm-up (slow start) that is not counted.
SECONDS = 3
STREAMS = (1, 3, 6, 12)
EQUAL = {"rates": [20, 20, 20], "weights": [1, 1, 1]}
UNEQUAL = {"rates": [30, 20, 10], "weights": [3, 2, 1], "streams": 6}
METHODS = ("uplinkctl nth", "uplinkctl random", "iptables recipe", "kernel ECMP")
COLORS = {"uplinkctl nth": "#1f77b4", "uplinkctl random": "#7fb2e5",
          "iptables recipe": "#ff7f0e", "kernel ECMP": "#2ca02c"}
# The recipe's slot → link (0 = up1, mark 10, the default). 1:1:1 as the seed writes it for
# three links: packet 0 → mark 11, packet 1 → mark 12, the rest keep 10. 3:2:1: six slots.
RECIPE_SLOTS = {(1, 1, 1): [1, 2, 0], (3, 2, 1): [0, 1, 0, 1, 0, 2]}
IDLE_SHARE = 0.05  # a link that carried less than 5% of a download's bytes sat idle

# Case 2.
APPLY_SIZES = (2, 8, 32)
APPLY_RUNS = 5

# Case 3: single-stream downloads per ruleset. Pinned (both iperf3 ends on one CPU, so the
# whole path runs there and the throughput follows its cost per packet) and free (as the
# scheduler likes; on 2 cores one core or two, from run to run, whatever the ruleset).
PLANE_ARMS = ("none", "uplinkctl", "iptables recipe")
PLANE_PINNED_ROUNDS = 8
PLANE_FREE_ROUNDS = 2
PLANE_CPU = os.cpu_count() - 1

# Case 4.
NTH_CONNECTIONS = 1000
RANDOM_CONNECTIONS = 10000
ACCURACY_WEIGHTS = ([1, 1, 1], [3, 2, 1])


# Small helpers

def progress(text):
    print(text, flush=True)


def spread(values):
    """(min, median, max)"""
    return min(values), statistics.median(values), max(values)


def timed(*args):
    """Wall time in seconds of one process, from start to exit."""
    start = time.perf_counter()
    result = subprocess.run(args, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} exited {result.returncode}: {result.stderr.strip()}")
    return elapsed, result.stdout


def in_ns(namespace, *args, input=None):
    return sh("ip", "netns", "exec", namespace, *args, input=input)


class Bench:
    """What every case needs: the binary, a scratch directory for configs and scripts."""

    def __init__(self, binary, scratch):
        self.binary = binary
        self.scratch = scratch
        self.files = 0

    def write(self, text, suffix):
        self.files += 1
        path = os.path.join(self.scratch, f"{self.files:03d}{suffix}")
        with open(path, "w") as f:
            f.write(text)
        return path

    def uplinkctl(self, *args):
        return sh(self.binary, *args)

    def connections(self, host, config):
        """New connections balanced onto each uplink, from `status --json`."""
        status = json.loads(self.uplinkctl("status", "--json", "--netns", host, config))
        return [uplink["connections"] for uplink in status["uplinks"]]


def config_yaml(count, weights=None, balance="nth"):
    """A config for uplinks up1…upN with gateways 198.18.N.1, as in the labs."""
    lines = [f"balance: {balance}", "traffic: [local, forwarded]", "", "uplinks:"]
    for n in range(1, count + 1):
        lines += [f"  - name: up{n}", f"    interface: up{n}", f"    gateway: 198.18.{n}.1"]
        if weights:
            lines.append(f"    weight: {weights[n - 1]}")
    return "\n".join(lines) + "\n"


# Case 1: bandwidth aggregation

def recipe_script(weights):
    """The seed's hand-written recipe (OUTPUT only), for the lab's uplinks up1…up3."""
    count, every = len(weights), sum(weights)
    order = RECIPE_SLOTS[tuple(weights)]
    lines = [f"sysctl -qw net.ipv4.conf.up{n}.rp_filter=2" for n in range(1, count + 1)]
    for n in range(1, count + 1):
        table = 109 + n
        lines += [f"ip route add 198.18.{n}.0/24 dev up{n} table {table}",
                  f"ip route add default via 198.18.{n}.1 table {table}",
                  f"ip rule add fwmark {9 + n} table {table} prio 31000"]
    lines += ["iptables -t mangle -A OUTPUT -j CONNMARK --restore-mark",
              "iptables -t mangle -A OUTPUT -m mark ! --mark 0 -j ACCEPT",
              "iptables -t mangle -A OUTPUT -j MARK --set-mark 10"]
    lines += [f"iptables -t mangle -A OUTPUT -m statistic --mode nth --every {every} --packet {slot} "
              f"-j MARK --set-mark {10 + uplink}" for slot, uplink in enumerate(order) if uplink != 0]
    lines.append("iptables -t mangle -A OUTPUT -j CONNMARK --save-mark")
    lines += [f"iptables -t nat -A POSTROUTING -o up{n} -j MASQUERADE" for n in range(1, count + 1)]
    return "\n".join(lines) + "\n"


def ecmp_script(weights):
    """One multipath default route, hashed on the 5-tuple, and masquerading per uplink."""
    count = len(weights)
    hops = " ".join(f"nexthop via 198.18.{n}.1 dev up{n} weight {weights[n - 1]}" for n in range(1, count + 1))
    lines = ["sysctl -qw net.ipv4.fib_multipath_hash_policy=1"]
    lines += [f"sysctl -qw net.ipv4.conf.up{n}.rp_filter=2" for n in range(1, count + 1)]
    lines.append(f"ip route replace default {hops}")
    lines += [f"iptables -t nat -A POSTROUTING -o up{n} -j MASQUERADE" for n in range(1, count + 1)]
    return "\n".join(lines) + "\n"


def set_up_method(bench, lab, method, weights):
    """Installs one balancing method in a fresh lab's host; returns the config (uplinkctl) or None."""
    if method.startswith("uplinkctl"):
        config = bench.write(config_yaml(len(weights), weights, method.split()[1]), ".yaml")
        bench.uplinkctl("apply", "--netns", lab.host, config)
        return config
    script = recipe_script(weights) if method == "iptables recipe" else ecmp_script(weights)
    in_ns(lab.host, "sh", "-e", "-c", script)
    return None


def download(lab, streams):
    """(goodput in Mbit/s, share of the bytes each link carried) of one iperf3 -R download."""
    for attempt in range(2):  # one retry: iperf3's server can still be closing the last test
        before = lab.received_bytes()
        try:
            goodput = lab.download(lab.host, streams, SECONDS)
        except RuntimeError:
            if attempt:
                raise
            time.sleep(1)
            continue
        moved = [b - a for a, b in zip(before, lab.received_bytes())]
        return goodput, [m / max(1, sum(moved)) for m in moved]


def practical_sum(run, links):
    """Each link alone (the host's default route moved onto it), one stream: the sum."""
    singles = []
    with Lab(f"{PREFIX}-r{run}-single", uplinks=len(links["rates"]), rates_mbit=links["rates"], lan=False) as lab:
        lab.start_iperf_server()
        for n in range(1, len(links["rates"]) + 1):
            lab.batch(lab.host, [f"route replace default via 198.18.{n}.1 dev up{n}"])
            singles.append(download(lab, 1)[0])
    progress(f"  single links: {' + '.join(f'{s:.2f}' for s in singles)} = {sum(singles):.2f} Mbit/s")
    return singles


def measure_method(bench, run, method, links, streams, practical):
    """One method in a fresh lab: a download per P, as % of the practical sum."""
    rows = []
    tag = method.split()[-1]
    with Lab(f"{PREFIX}-r{run}-{tag}", uplinks=len(links["rates"]), rates_mbit=links["rates"], lan=False) as lab:
        config = set_up_method(bench, lab, method, links["weights"])
        lab.start_iperf_server()
        for p in streams:
            before = bench.connections(lab.host, config) if config else None
            goodput, shares = download(lab, p)
            conns = None
            if config:
                conns = [b - a for a, b in zip(before, bench.connections(lab.host, config))]
            percent = 100 * goodput / practical
            rows.append({"method": method, "streams": p, "goodput": goodput, "percent": percent,
                         "shares": shares, "conns": conns})
            progress(f"  {method:16} P={p:<2} {goodput:6.2f} Mbit/s = {percent:5.1f}%  links "
                     + "/".join(f"{s * 100:.0f}" for s in shares)
                     + (f"  new conns per uplink {conns}" if conns else ""))
    return rows


def case_aggregation(bench, runs):
    """Case 1. Each run: the practical sums, then every method in a fresh lab (interleaved,
    so a noisy minute hits all methods alike)."""
    result = {"equal": [], "unequal": [], "singles": {"equal": [], "unequal": []}}
    for run in range(1, runs + 1):
        for kind, links in (("equal", EQUAL), ("unequal", UNEQUAL)):
            rates = "/".join(map(str, links["rates"]))
            progress(f"case 1, run {run}/{runs}: {rates} Mbit/s")
            singles = practical_sum(run, links)
            result["singles"][kind].append(singles)
            streams = STREAMS if kind == "equal" else (links["streams"],)
            for method in METHODS:
                for row in measure_method(bench, run, method, links, streams, sum(singles)):
                    row["run"] = run
                    result[kind].append(row)
    return result


# Case 2: apply latency

class FanOut:
    """A host with N veth uplinks (upN, 198.18.N.2/24) to one peer namespace that holds every
    gateway (dnN, 198.18.N.1/24): the gateways are on-link. Nothing else; no traffic."""

    def __init__(self, count):
        self.count = count
        self.host = f"{PREFIX}-fan{count}-host"
        self.peer = f"{PREFIX}-fan{count}-peer"
        self.made = []

    def __enter__(self):
        try:
            for name in (self.host, self.peer):
                sh("ip", "netns", "add", name)
                self.made.append(name)
            uplinks = range(1, self.count + 1)
            sh("ip", "-batch", "-", input="".join(
                f"link add up{n} netns {self.host} type veth peer name dn{n} netns {self.peer}\n" for n in uplinks))
            sh("ip", "-n", self.host, "-batch", "-", input="".join(
                f"addr add 198.18.{n}.2/24 dev up{n}\nlink set up{n} up\n" for n in uplinks)
                + "link set lo up\nroute add default via 198.18.1.1\n")
            sh("ip", "-n", self.peer, "-batch", "-", input="".join(
                f"addr add 198.18.{n}.1/24 dev dn{n}\nlink set dn{n} up\n" for n in uplinks))
            self.sysctls = self.read_sysctls()
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc):
        for name in reversed(self.made):
            sh("ip", "netns", "del", name, check=False)
        self.made = []
        return False

    def read_sysctls(self):
        keys = [f"net.ipv4.conf.up{n}.rp_filter" for n in range(1, self.count + 1)] + ["net.ipv4.ip_forward"]
        out = in_ns(self.host, "sysctl", *keys)
        return dict(line.replace(" ", "").split("=", 1) for line in out.splitlines())

    def reset(self):
        """Back to a fresh host: no nft/iptables tables, no rules or routes of ours, sysctls
        as they were."""
        in_ns(self.host, "sh", "-e", "-c",
              "nft flush ruleset; ip rule flush protocol 117; ip route flush table all proto 117; "
              "sysctl -qw " + " ".join(f"{k}={v}" for k, v in self.sysctls.items()))
        self.check_fresh()

    def check_fresh(self):
        problems = []
        if in_ns(self.host, "nft", "list", "ruleset").strip():
            problems.append("nft ruleset not empty")
        if len(sh("ip", "-n", self.host, "rule").splitlines()) != 3:
            problems.append("extra ip rules")
        if sh("ip", "-n", self.host, "route", "show", "table", "all", "proto", "117").strip():
            problems.append("routes with proto 117")
        if self.read_sysctls() != self.sysctls:
            problems.append("sysctls changed")
        if problems:
            raise RuntimeError(f"{self.host} is not fresh: {', '.join(problems)}")


def split_nft_dry_run(script):
    """The nft form of the dry-run as (sysctl settings, ip -batch lines, nft -f text)."""
    sysctls, ip_lines, nft_lines, inside = [], [], [], False
    for line in script.splitlines():
        if inside:
            if line == "UPLINKCTL_NFT":
                inside = False
            else:
                nft_lines.append(line)
        elif line.startswith("nft -f - <<"):
            inside = True
        elif line.startswith("sysctl -w "):
            sysctls.append(line.split()[2])
        elif line.startswith("ip "):
            ip_lines.append(line[3:])
        elif line.strip() and not line.startswith("#") and line != "set -e":
            raise RuntimeError(f"unexpected line in the nft dry-run: {line}")
    return sysctls, "\n".join(ip_lines) + "\n", "\n".join(nft_lines) + "\n"


def apply_one_size(bench, count):
    """Case 2 for one size: APPLY_RUNS rounds, each timing every way from a fresh host."""
    times = {"apply": [], "iptables script": [], "nft -f + ip -batch": [], "re-apply": [],
             "ip netns exec (alone)": [], "uplinkctl check (no kernel)": []}
    config = bench.write(config_yaml(count), ".yaml")
    iptables_script = bench.write(bench.uplinkctl("apply", "--dry-run", config), ".sh")
    sysctls, ip_batch, nft_text = split_nft_dry_run(bench.uplinkctl("apply", "--dry-run", "--format", "nft", config))
    ip_file, nft_file = bench.write(ip_batch, ".ip"), bench.write(nft_text, ".nft")
    by_hand = f"sysctl -q -w {' '.join(sysctls)} && ip -batch {ip_file} && nft -f {nft_file}"
    with FanOut(count) as fan:
        for run in range(APPLY_RUNS):
            fan.check_fresh()
            elapsed, out = timed(bench.binary, "apply", "--netns", fan.host, config)
            times["apply"].append(elapsed)
            elapsed, out = timed(bench.binary, "apply", "--netns", fan.host, config)
            if "nothing changed" not in out:
                raise RuntimeError(f"re-apply changed something: {out}")
            times["re-apply"].append(elapsed)
            bench.uplinkctl("flush", "--netns", fan.host)
            fan.check_fresh()

            times["iptables script"].append(timed("ip", "netns", "exec", fan.host, "sh", iptables_script)[0])
            fan.reset()

            times["nft -f + ip -batch"].append(timed("ip", "netns", "exec", fan.host, "sh", "-c", by_hand)[0])
            if run == 0:  # the same state as apply builds: uplinkctl finds nothing to change
                diff = subprocess.run([bench.binary, "diff", "--netns", fan.host, config], capture_output=True, text=True)
                if diff.returncode != 0:
                    raise RuntimeError(f"nft -f + ip -batch did not build apply's state:\n{diff.stdout}{diff.stderr}")
            fan.reset()

            times["ip netns exec (alone)"].append(timed("ip", "netns", "exec", fan.host, "true")[0])
            times["uplinkctl check (no kernel)"].append(timed(bench.binary, "check", config)[0])
    lines = len([l for l in open(iptables_script) if l.startswith("iptables ")])
    return {"times": times, "iptables_commands": lines}


def case_apply(bench):
    result = {}
    for count in APPLY_SIZES:
        progress(f"case 2: apply latency, {count} uplinks, {APPLY_RUNS} runs")
        result[count] = apply_one_size(bench, count)
        for way, values in result[count]["times"].items():
            low, mid, high = spread(values)
            progress(f"  {way:28} {low * 1000:7.1f} {mid * 1000:7.1f} {high * 1000:7.1f} ms")
    return result


# Case 3: data-plane cost

def case_dataplane(bench):
    """Case 3. One lab per ruleset (none ever installed in the first), each with its own iperf3
    server; the rulesets take turns in every round, in a rotating order."""
    progress(f"case 3: data-plane cost, single-stream downloads, unshaped: {PLANE_PINNED_ROUNDS} rounds "
             f"pinned to CPU {PLANE_CPU}, {PLANE_FREE_ROUNDS} rounds free")
    result = {"pinned": {arm: [] for arm in PLANE_ARMS}, "free": {arm: [] for arm in PLANE_ARMS[:2]}}
    with contextlib.ExitStack() as stack:
        labs = {}
        for arm in PLANE_ARMS:
            lab = stack.enter_context(Lab(f"{PREFIX}-plane-{arm.split()[-1]}", uplinks=3, lan=False))
            if arm == "uplinkctl":
                bench.uplinkctl("apply", "--netns", lab.host, os.path.join(ROOT, "examples/lab.yaml"))
            elif arm == "iptables recipe":
                in_ns(lab.host, "sh", "-e", "-c", recipe_script(EQUAL["weights"]))
            lab.start_iperf_server()
            labs[arm] = lab
        for kind, rounds, cpu in (("pinned", PLANE_PINNED_ROUNDS, PLANE_CPU), ("free", PLANE_FREE_ROUNDS, None)):
            arms = list(result[kind])
            for i in range(rounds):
                # Rotate the order, so that a drift in the machine's speed hits every ruleset alike.
                for arm in arms[i % len(arms):] + arms[:i % len(arms)]:
                    goodput = labs[arm].download(labs[arm].host, 1, SECONDS, cpu=cpu) / 1000
                    result[kind][arm].append(goodput)
                    progress(f"  {kind:6} {arm:15} {goodput:6.2f} Gbit/s")
    return result


# Case 4: balance accuracy

def udp_send(mode, count, first_port):
    """Runs inside the lab's host: COUNT datagrams, each from a fresh socket bound to its own
    source port (so each is a new conntrack entry; kernel-chosen ports would repeat earlier
    ones, and such a datagram would follow its old connection instead of opening a new one).
    echo: to the echo server, printing its answer ("198.18.2.2 g2"); discard: to port 9."""
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


def send_from_host(lab, mode, count, first_port):
    return in_ns(lab.host, sys.executable, os.path.abspath(__file__), "--udp-send", mode,
                 str(count), str(first_port)).splitlines()


def start_echo_server(lab):
    process = subprocess.Popen(["ip", "netns", "exec", lab.server, sys.executable, ECHO_SERVER, SERVICE]
                               + [f"g{n}" for n in range(1, lab.count + 1)],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    lab.processes.append(process)
    if process.stdout.readline().strip() != "listening":
        raise RuntimeError("echo server did not start")


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
    config = bench.write(config_yaml(3, weights, "nth"), ".yaml")
    bench.uplinkctl("apply", "--netns", lab.host, config)
    answers = send_from_host(lab, "echo", NTH_CONNECTIONS, first_port)
    counts = bench.connections(lab.host, config)
    bench.uplinkctl("flush", "--netns", lab.host)
    # "198.18.2.2 g2": masqueraded to up2's address, and it reached the server by g2.
    sequence = []
    for answer in answers:
        parts = answer.split()
        if len(parts) == 2 and parts[1].startswith("g") and parts[0] == f"198.18.{parts[1][1:]}.2":
            sequence.append(int(parts[1][1:]) - 1)
    good, windows = window_check(sequence, weights)
    return {"mode": "nth", "weights": weights, "n": NTH_CONNECTIONS, "counts": counts,
            "answered": len(sequence), "seq_counts": [sequence.count(u) for u in range(3)],
            "windows_good": good, "windows": windows, "first": sequence[:sum(weights)],
            "prefix_dev": prefix_deviation(sequence, weights)}


def accuracy_random(bench, lab, weights, first_port):
    config = bench.write(config_yaml(3, weights, "random"), ".yaml")
    bench.uplinkctl("apply", "--netns", lab.host, config)
    send_from_host(lab, "discard", RANDOM_CONNECTIONS, first_port)
    counts = bench.connections(lab.host, config)
    bench.uplinkctl("flush", "--netns", lab.host)
    return {"mode": "random", "weights": weights, "n": RANDOM_CONNECTIONS, "counts": counts}


def deviations(row):
    """Per uplink: (count − expected) in connections, and as % of the expected count."""
    total, n = sum(row["weights"]), sum(row["counts"])
    expected = [n * w / total for w in row["weights"]]
    return ([c - e for c, e in zip(row["counts"], expected)],
            [100 * (c - e) / e for c, e in zip(row["counts"], expected)], expected)


def case_accuracy(bench):
    progress(f"case 4: balance accuracy, {NTH_CONNECTIONS} nth and {RANDOM_CONNECTIONS} random new connections")
    rows = []
    with Lab(f"{PREFIX}-acc", uplinks=3, rates_mbit=None, lan=False) as lab:
        start_echo_server(lab)
        port = 20000
        for weights in ACCURACY_WEIGHTS:
            for measure, count in ((accuracy_nth, NTH_CONNECTIONS), (accuracy_random, RANDOM_CONNECTIONS)):
                in_ns(lab.host, "conntrack", "-F")  # the last scenario's entries carry its marks
                row = measure(bench, lab, weights, port)
                port += count
                rows.append(row)
                absolute, relative, _ = deviations(row)
                progress(f"  {row['mode']:6} {':'.join(map(str, weights))}: {row['counts']}  max deviation "
                         f"{max(map(abs, absolute)):.2f} conns ({max(map(abs, relative)):.2f}%)")
    return rows


# Case 5: the chart

def aggregation_svg(groups):
    """Grouped bars (median) with min–max whiskers, % of the practical sum, a line at 100%.
    groups: [(label, {method: [percent per run]})]."""
    width, height = 860, 400
    left, right, top, bottom = 64, 20, 78, 48
    plot_w, plot_h = width - left - right, height - top - bottom
    top_value = max(120, 10 * -(-max(max(v) for _, g in groups for v in g.values()) // 10))

    def y(value):
        return top + plot_h * (1 - value / top_value)

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="{left}" y="24" font-size="15" font-weight="bold">Download goodput, % of the practical sum '
           f'(bar: median of {len(next(iter(groups[0][1].values())))} runs; whisker: min–max)</text>']
    for value in range(0, int(top_value) + 1, 20):
        out.append(f'<line x1="{left}" x2="{width - right}" y1="{y(value):.1f}" y2="{y(value):.1f}" stroke="#e4e4e4"/>')
        out.append(f'<text x="{left - 8}" y="{y(value) + 4:.1f}" text-anchor="end">{value}%</text>')
    group_w = plot_w / len(groups)
    bar_w = group_w * 0.8 / len(METHODS)
    for g, (label, values) in enumerate(groups):
        x0 = left + g * group_w + group_w * 0.1
        for m, method in enumerate(METHODS):
            if method not in values:
                continue
            low, mid, high = spread(values[method])
            x = x0 + m * bar_w
            cx = x + bar_w / 2
            out.append(f'<rect x="{x + 1:.1f}" y="{y(mid):.1f}" width="{bar_w - 2:.1f}" height="{y(0) - y(mid):.1f}" '
                       f'fill="{COLORS[method]}"><title>{method}, {label.replace(chr(10), ", ")}: median {mid:.1f}%, '
                       f'min {low:.1f}%, max {high:.1f}%</title></rect>')
            out.append(f'<line x1="{cx:.1f}" x2="{cx:.1f}" y1="{y(low):.1f}" y2="{y(high):.1f}" stroke="black"/>')
            for v in (low, high):
                out.append(f'<line x1="{cx - 4:.1f}" x2="{cx + 4:.1f}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="black"/>')
        lines = label.split("\n")
        for i, text in enumerate(lines):
            out.append(f'<text x="{left + (g + 0.5) * group_w:.1f}" y="{top + plot_h + 18 + 15 * i}" '
                       f'text-anchor="middle">{text}</text>')
    out.append(f'<line x1="{left}" x2="{width - right}" y1="{y(100):.1f}" y2="{y(100):.1f}" '
               f'stroke="#d62728" stroke-width="1.5" stroke-dasharray="6 4"/>')
    # The unequal links' group stands apart.
    x = left + (len(groups) - 1) * group_w
    out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{height - 8}" stroke="#999" stroke-dasharray="3 3"/>')
    out.append(f'<line x1="{left}" x2="{left}" y1="{top}" y2="{y(0):.1f}" stroke="black"/>')
    out.append(f'<line x1="{left}" x2="{width - right}" y1="{y(0):.1f}" y2="{y(0):.1f}" stroke="black"/>')
    for m, method in enumerate(METHODS):
        x = left + m * 150
        out.append(f'<rect x="{x}" y="40" width="14" height="14" fill="{COLORS[method]}"/>')
        out.append(f'<text x="{x + 20}" y="52">{method}</text>')
    x = left + len(METHODS) * 150
    out.append(f'<line x1="{x}" x2="{x + 22}" y1="47" y2="47" stroke="#d62728" stroke-width="1.5" stroke-dasharray="6 4"/>')
    out.append(f'<text x="{x + 28}" y="52">100% = practical sum</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def chart_groups(aggregation):
    groups = []
    for p in STREAMS:
        values = {m: [r["percent"] for r in aggregation["equal"] if r["method"] == m and r["streams"] == p]
                  for m in METHODS}
        groups.append((f"P = {p}\n3 × 20 Mbit/s", values))
    p = UNEQUAL["streams"]
    values = {m: [r["percent"] for r in aggregation["unequal"] if r["method"] == m] for m in METHODS}
    groups.append((f"P = {p}\n30/20/10 Mbit/s, 3:2:1", values))
    return groups


# The report

def machine():
    def out(*args):
        try:
            return subprocess.run(args, capture_output=True, text=True, cwd=ROOT).stdout.strip()
        except OSError:
            return "?"
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {"cores": os.cpu_count(), "kernel": platform.release(), "cpu": model,
            # The commit the binary was built from; changes outside the sources do not count.
            "commit": out("git", "rev-parse", "--short=12", "HEAD") + (
                " with uncommitted changes to the sources"
                if out("git", "status", "--porcelain", "--", "Sources", "Package.swift", "Package.resolved") else ""),
            "iperf3": out("iperf3", "--version").splitlines()[0] if out("iperf3", "--version") else "?",
            "iptables": out("iptables", "--version"), "nft": out("nft", "--version")}


def pct(values):
    low, mid, high = spread(values)
    return f"{low:.1f}% | {mid:.1f}% | {high:.1f}%"


def link_split(shares):
    return " / ".join(f"{s * 100:.0f}" for s in shares)


def section_aggregation(agg, runs):
    md = ["## 1. Bandwidth aggregation", ""]
    singles = agg["singles"]
    md += [f"Three uplinks shaped with tc tbf (both ways) in a lab of namespaces (tools/lab.py); a download "
           f"from the server with `iperf3 -R -P P -t {SECONDS} -O 1` (the first second, slow start, is not "
           f"counted) from the host. Each method runs in a fresh lab, and the methods take turns within each "
           f"of the {runs} runs. **100% is the practical sum**: in each run, one single-stream download "
           f"over each link alone (the host's default route moved onto that link), added up; each download "
           f"is divided by its own run's sum.", ""]
    for kind, rates in (("equal", EQUAL["rates"]), ("unequal", UNEQUAL["rates"])):
        sums = ", ".join(" + ".join(f"{s:.2f}" for s in run) + f" = **{sum(run):.2f}**" for run in singles[kind])
        md.append(f"- Practical sum, {'/'.join(map(str, rates))} Mbit/s (Mbit/s, per run): {sums}")
    md += ["", "Methods, each installed in the lab's host on a fresh lab:", "",
           "- **uplinkctl nth**: `uplinkctl apply --netns HOST` of `examples/lab.yaml` (with weights 3, 2, 1 "
           "for the unequal links).",
           "- **uplinkctl random**: the same config with `balance: random`.",
           "- **iptables recipe**: the seed's hand-written recipe (seed 000), OUTPUT only: "
           "`CONNMARK --restore-mark`, `-m mark ! --mark 0 -j ACCEPT`, `MARK --set-mark 10`, "
           "`statistic --mode nth` rules setting 11 and 12, `CONNMARK --save-mark`; "
           "`ip rule fwmark 10/11/12 table 110/111/112 prio 31000`, a default route per table, "
           "MASQUERADE per uplink. The seed does not set rp_filter; the harness adds loose mode "
           "(`rp_filter=2`) on the uplinks, as on a distribution with strict mode the replies arriving on "
           "the second and third uplink would be dropped (the lab's namespaces start at 0, so here it "
           "changes nothing). For 3:2:1 the same with `--every 6`: three rules for the slots "
           "1, 3 and 5 (marks 11, 11, 12), so that of every six new connections three keep mark 10, two take "
           "11 and one 12, in the order 1 2 1 2 1 3.",
           "- **kernel ECMP**: `ip route replace default nexthop via 198.18.1.1 dev up1 weight 1 nexthop …` "
           "(weights 3, 2, 1 for the unequal links) with `net.ipv4.fib_multipath_hash_policy=1` (the "
           "5-tuple hash) in the host, plus MASQUERADE per uplink with iptables: a local connection picks "
           "its source address before the hash with its real source port picks the next hop, so without "
           "masquerading the server's answer would come back by another link. rp_filter=2 on the uplinks "
           "as above.", "",
           "The exact commands of the two hand-made methods are at the end of this file.", ""]
    md += aggregation_table(agg["equal"], "Three links of 20 Mbit/s", STREAMS, runs)
    md += aggregation_table(agg["unequal"], "Links of 30, 20 and 10 Mbit/s, weights 3:2:1",
                            (UNEQUAL["streams"],), runs)
    md += aggregation_findings(agg, runs)
    return md


def aggregation_table(rows, title, streams, runs):
    md = [f"### {title}", "",
          "| P | method | min | median | max | median Mbit/s | runs with an idle link | link split in the worst run (% of bytes) |",
          "|---|---|---|---|---|---|---|---|"]
    for p in streams:
        for method in METHODS:
            mine = [r for r in rows if r["method"] == method and r["streams"] == p]
            if not mine:
                continue
            worst = min(mine, key=lambda r: r["percent"])
            idle = sum(1 for r in mine if min(r["shares"]) < IDLE_SHARE)
            md.append(f"| {p} | {method} | {pct([r['percent'] for r in mine])} | "
                      f"{statistics.median(r['goodput'] for r in mine):.2f} | {idle} of {len(mine)} | "
                      f"{link_split(worst['shares'])} |")
    md += ["", f"% of the practical sum; min, median and max over {runs} runs. An idle link carried less than "
           f"{IDLE_SHARE * 100:.0f}% of the download's bytes (for P = 1 two links are always idle).", ""]
    return md


def aggregation_findings(agg, runs):
    equal = agg["equal"]

    def of(method, p, rows=equal):
        return [r for r in rows if r["method"] == method and r["streams"] == p]

    nth3 = [r["percent"] for r in of("uplinkctl nth", 3)]
    met = min(nth3) >= 98
    md = ["### What it shows", "",
          f"- **Target: uplinkctl nth reaches 100% of the practical sum (within 2%) at P = 3 in every run: "
          f"{'met' if met else 'NOT met'}**; at P = 3 its runs gave {', '.join(f'{v:.1f}%' for v in nth3)}."]
    for method in METHODS[1:]:
        values = [r["percent"] for r in of(method, 3)]
        md.append(f"- {method} at P = 3: min {min(values):.1f}%, median {statistics.median(values):.1f}%, "
                  f"max {max(values):.1f}%. uplinkctl nth ÷ {method}: "
                  f"{statistics.median(nth3) / statistics.median(values):.2f}× in the median, "
                  f"{min(nth3) / min(values):.2f}× in the worst run.")
    recipe3 = [r["percent"] for r in of("iptables recipe", 3)]
    if min(recipe3) >= 98:
        md.append("- The seed's iptables recipe is an nth cycle too, and it aggregates as well as uplinkctl "
                  "nth here: in bandwidth uplinkctl is not ahead of it. What uplinkctl adds is elsewhere "
                  "(one config instead of hand-kept rules, weights, forwarded traffic, diff, flush, status).")
    example = next((r for r in of("uplinkctl nth", 3) if r["conns"]), None)
    if example:
        md.append(f"- **iperf3's control connection.** iperf3 opens one control connection before its data "
                  f"streams, and it takes an nth slot too: in run {example['run']}, the P = 3 download "
                  f"opened {sum(example['conns'])} new connections, {example['conns']} per uplink by "
                  f"uplinkctl's counters, yet the bytes split {link_split(example['shares'])}. The control "
                  f"connection only shifts which uplink the first data stream takes; any 3 consecutive "
                  f"slots still cover the 3 uplinks, so the data streams get one each. The same holds for "
                  f"every P that is a multiple of 3 (P = 6, 12: two and four streams per link). With P = 1 "
                  f"the single stream can use one link only (about 33%).")
    ecmp_idle = sum(1 for p in STREAMS[1:] for r in of("kernel ECMP", p) if min(r["shares"]) < IDLE_SHARE)
    nth_idle = sum(1 for p in STREAMS[1:] for r in of("uplinkctl nth", p) if min(r["shares"]) < IDLE_SHARE)
    total = len(STREAMS[1:]) * runs
    md.append(f"- Downloads with P ≥ 3 that left a link idle: kernel ECMP {ecmp_idle} of {total}, "
              f"uplinkctl nth {nth_idle} of {total}. The 5-tuple hash can put two streams on one link; "
              f"the nth cycle cannot.")
    unequal = agg["unequal"]
    p = UNEQUAL["streams"]
    parts = []
    for method in METHODS:
        values = [r["percent"] for r in of(method, p, unequal)]
        parts.append(f"{method} min {min(values):.1f}% / median {statistics.median(values):.1f}%")
    md.append(f"- Unequal links, P = {p}: " + "; ".join(parts) + ".")
    weighted = next((r for r in of("uplinkctl nth", p, unequal) if r["conns"]), None)
    if weighted:
        md.append(f"- With weights 3:2:1 the cycle is up1 up2 up1 up2 up1 up3. The control connection takes "
                  f"one slot, and the {p} data streams the next {p}: a whole cycle, so {p // 2}, {p // 3} and "
                  f"{p // 6} streams, in proportion to the links' speeds (new connections per uplink, control "
                  f"included: {weighted['conns']}; bytes {link_split(weighted['shares'])}).")
    md.append("")
    return md


def section_apply(result):
    md = ["## 2. Apply latency", "",
          f"A host namespace with N veth uplinks to one peer namespace (the gateways are on-link); the "
          f"config is generated (`balance: nth`, N uplinks up1…upN, traffic local and forwarded). Each "
          f"time is the wall time of the process, from start to exit (time.perf_counter around it), "
          f"{APPLY_RUNS} runs; min / median / max in milliseconds. Between fresh runs the host is put "
          f"back (uplinkctl flush, or nft flush ruleset + the rules and routes + the sysctls) and "
          f"checked to be fresh.", "",
          "- **apply**: `uplinkctl apply --netns HOST CONFIG` on a fresh host.",
          "- **iptables script**: the dry-run in its default form, `uplinkctl apply --dry-run CONFIG`, "
          "generated beforehand and run as `ip netns exec HOST sh SCRIPT` (the generation is not counted). "
          "`iptables` here is iptables-nft (see the machine section): each command is one nft transaction.",
          "- **nft -f + ip -batch**: from `--dry-run --format nft`: its sysctls as one `sysctl -w`, its "
          "`ip route`/`ip rule` lines (without the leading `ip`) as one `ip -batch`, and the table text "
          "between the heredoc markers as one `nft -f`, in one `ip netns exec HOST sh -c '…'`. Checked "
          "once per size: `uplinkctl diff` finds nothing to change afterwards, so it is the same state.",
          "- **re-apply**: `uplinkctl apply` again right after an apply, with no change (it answers "
          "\"nothing changed\").",
          "- For reference: `ip netns exec HOST true` (the part of both scripts' times that is only "
          "entering the namespace) and `uplinkctl check CONFIG` (starting uplinkctl and reading the "
          "config, no kernel).", ""]
    ways = list(next(iter(result.values()))["times"])
    md += ["| uplinks | " + " | ".join(ways) + " |", "|---" * (len(ways) + 1) + "|"]
    for count, data in result.items():
        cells = []
        for way in ways:
            low, mid, high = (v * 1000 for v in spread(data["times"][way]))
            cells.append(f"{low:.1f} / **{mid:.1f}** / {high:.1f}")
        md.append(f"| {count} | " + " | ".join(cells) + " |")
    md += ["", "Ratios of medians (targets in bold):", "",
           "| uplinks | iptables commands | apply ÷ (nft -f + ip -batch), **≤ 1** | iptables script ÷ apply, **≥ 10 at 32** | re-apply ÷ apply, **well under 1** |",
           "|---|---|---|---|---|"]
    for count, data in result.items():
        med = {way: statistics.median(v) for way, v in data["times"].items()}
        md.append(f"| {count} | {data['iptables_commands']} | {med['apply'] / med['nft -f + ip -batch']:.2f} | "
                  f"{med['iptables script'] / med['apply']:.1f} | {med['re-apply'] / med['apply']:.2f} |")
    largest = result[max(result)]
    med = {way: statistics.median(v) for way, v in largest["times"].items()}
    verdicts = [
        ("apply no slower than nft -f + ip -batch",
         all(statistics.median(d["times"]["apply"]) <= statistics.median(d["times"]["nft -f + ip -batch"])
             for d in result.values())),
        (f"at least 10× faster than the iptables script at {max(result)}", med["iptables script"] >= 10 * med["apply"]),
        ("no-change re-apply well under a fresh apply (≤ half)", all(
            statistics.median(d["times"]["re-apply"]) <= 0.5 * statistics.median(d["times"]["apply"])
            for d in result.values())),
    ]
    start = med["uplinkctl check (no kernel)"]
    md += ["", "Targets: " + "; ".join(f"{text}: **{'met' if ok else 'NOT met'}**" for text, ok in verdicts) + ".",
           "", f"The binary measured is the one `make bench` builds (`{BINARY_LABEL}`). Starting uplinkctl and "
           f"reading the config (the `check` column) takes {start * 1000:.1f} ms of the {med['apply'] * 1000:.1f} ms "
           f"of an apply at {max(result)} uplinks and of the {med['re-apply'] * 1000:.1f} ms of a re-apply; the "
           f"rest, {(med['apply'] - start) * 1000:.1f} ms and {(med['re-apply'] - start) * 1000:.1f} ms, is "
           f"reading the kernel's state, planning and writing the changes. `nft -f` + `ip -batch` take "
           f"{med['nft -f + ip -batch'] * 1000:.1f} ms for the same state, including "
           f"{med['ip netns exec (alone)'] * 1000:.1f} ms of `ip netns exec`.", ""]
    return md


def section_dataplane(result):
    def ratio(kind, arm):
        return statistics.median(result[kind][arm]) / statistics.median(result[kind]["none"])

    pinned = ratio("pinned", "uplinkctl")
    md = ["## 3. Data-plane cost", "",
          f"Labs without shaping; one TCP stream downloaded from the server with iperf3 "
          f"(`-R -P 1 -t {SECONDS} -O 1`) from the host. One lab per ruleset, each set up once: **none** "
          f"(no ruleset ever installed, so no conntrack in the host either), **uplinkctl** (`examples/lab.yaml` "
          f"applied: conntrack, the marks, the ip rules and masquerading are all in the path) and, for "
          f"comparison, the seed's **iptables recipe** (section 1). The rulesets take turns in each round, "
          f"in a rotating order.", "",
          f"- **pinned**: `iperf3 -A {PLANE_CPU},{PLANE_CPU}` puts both ends, and with them the whole "
          f"path through the namespaces, on CPU {PLANE_CPU}; the throughput then follows the CPU cost per "
          f"packet, which is what a ruleset adds, and runs vary less; **the target is judged "
          f"on this one**.",
          f"- **free**: no pinning, as a user would run it. On this {os.cpu_count()}-core machine the "
          f"scheduler places the two ends on one core or on two from run to run, which moves the "
          f"throughput far more than any ruleset does; shown for completeness.", "",
          "| runs | ruleset | min | median | max | median ÷ none |", "|---|---|---|---|---|---|"]
    for kind in ("pinned", "free"):
        for arm, values in result[kind].items():
            low, mid, high = spread(values)
            md.append(f"| {kind} | {arm} | {low:.2f} Gbit/s | {mid:.2f} Gbit/s | {high:.2f} Gbit/s | "
                      f"{100 * ratio(kind, arm):.1f}% |")
    spreads = {arm: max(v) / min(v) for arm, v in result["pinned"].items()}
    md += ["", f"**Ratio of medians, uplinkctl ÷ none, pinned: {pinned * 100:.1f}%** (target ≥ 95%: "
           f"**{'met' if pinned >= 0.95 else 'NOT met'}**); free: {ratio('free', 'uplinkctl') * 100:.1f}%. "
           f"The seed's recipe, which needs conntrack and masquerading just the same, keeps "
           f"{ratio('pinned', 'iptables recipe') * 100:.1f}% pinned. Every run (Gbit/s): "
           + "; ".join(f"{kind} {arm} " + ", ".join(f"{v:.2f}" for v in values)
                       for kind in ("pinned", "free") for arm, values in result[kind].items()) + ".", "",
           "Run-to-run spread of the pinned runs (max ÷ min): "
           + ", ".join(f"{arm} {spreads[arm]:.2f}" for arm in spreads)
           + (f". That is larger than the {100 * (1 - pinned):.1f}% between the medians, so the verdict "
              f"is within this machine's noise; more rounds would narrow it." if max(spreads.values()) - 1 > 1 - pinned
              else "."), ""]
    return md


def section_accuracy(rows):
    md = ["## 4. Balance accuracy", "",
          f"New connections from the host, each a UDP datagram from a fresh socket bound to its own source "
          f"port (kernel-chosen ports repeat, and a datagram on an earlier connection's tuple would follow "
          f"that connection instead of opening a new one), in an unshaped lab, on a fresh apply each. "
          f"Counts are uplinkctl's per-uplink counters of new connections (`status --json`, "
          f"`connections`). nth: {NTH_CONNECTIONS} datagrams to the echo server "
          f"(Tests/UplinkCoreTests/Fixtures/lab/echo-server.py), which answers with the source address it "
          f"saw and the interface it came in by, so the harness knows each connection's uplink in order. "
          f"random: {RANDOM_CONNECTIONS} datagrams to port 9 (no listener; the connection exists from the "
          f"first packet).", "",
          "| mode | weights | connections | counts | expected | max deviation | max deviation, % of expected | per-cycle check |",
          "|---|---|---|---|---|---|---|---|"]
    verdicts = []
    for row in rows:
        absolute, relative, expected = deviations(row)
        weights = ":".join(map(str, row["weights"]))
        check = ""
        if row["mode"] == "nth":
            ok = (row["windows_good"] == row["windows"] and row["seq_counts"] == row["counts"]
                  and row["answered"] == row["n"])
            check = (f"{row['windows_good']} of {row['windows']} windows of {sum(row['weights'])} consecutive "
                     f"connections exact; {row['answered']} answered; the server's count "
                     f"{'matches' if row['seq_counts'] == row['counts'] else 'DIFFERS from'} the counters; "
                     f"first cycle {' '.join('up' + str(u + 1) for u in row['first'])}")
            verdicts.append((f"nth {weights}: exact per cycle", ok))
        else:
            verdicts.append((f"random {weights}: within 3% of the weights",
                             max(map(abs, relative)) <= 3))
        md.append(f"| {row['mode']} | {weights} | {row['n']} | {' / '.join(map(str, row['counts']))} | "
                  f"{' / '.join(f'{e:.1f}' for e in expected)} | {max(map(abs, absolute)):.2f} | "
                  f"{max(map(abs, relative)):.2f}% | {check} |")
    nth_rows = [r for r in rows if r["mode"] == "nth"]
    md += ["", "Targets: " + "; ".join(f"{text}: **{'met' if ok else 'NOT met'}**" for text, ok in verdicts) + ".", "",
           f"nth: every window of W consecutive connections (W = the sum of the weights), wherever it "
           f"starts, holds each uplink exactly its weight, which means the sequence repeats with period W. "
           f"After any number of connections no uplink was more than "
           f"{max(r['prefix_dev'] for r in nth_rows):.2f} connections away from its exact share (the smooth "
           f"order keeps that under 1). The counters' deviation is what a partial last cycle leaves "
           f"({NTH_CONNECTIONS} is not a multiple of W).", "",
           random_note(rows), ""]
    return md


def random_note(rows):
    """Why a 3% bound on random can fail by chance: the binomial spread of the smallest share."""
    n, p = RANDOM_CONNECTIONS, 1 / 6
    sigma = (n * p * (1 - p)) ** 0.5
    within = math.erf(0.03 * n * p / sigma / 2 ** 0.5)
    points = max(max(abs(a) for a in deviations(r)[0]) * 100 / r["n"] for r in rows if r["mode"] == "random")
    return (f"random: the deviation here is relative to each uplink's expected count (the strict reading of "
            f"\"within 3% of the weights\"). It is chance, not bias: with {n} draws the count of an uplink "
            f"with share p varies by σ = √(N·p·(1−p)); for p = 1/6 that is {sigma:.0f} connections, "
            f"{100 * sigma / (n * p):.1f}% of its expected {n * p:.0f}, so that uplink lands within 3% in "
            f"only {100 * within:.0f}% of runs. As a share of all connections the deviation was "
            f"{points:.2f} percentage points at most.")


def recipes_appendix():
    md = ["## The hand-made methods, as run", ""]
    for title, script in (("iptables recipe, 3 × 20 Mbit/s", recipe_script(EQUAL["weights"])),
                          ("iptables recipe, 3:2:1", recipe_script(UNEQUAL["weights"])),
                          ("kernel ECMP, 3 × 20 Mbit/s", ecmp_script(EQUAL["weights"])),
                          ("kernel ECMP, 3:2:1", ecmp_script(UNEQUAL["weights"]))):
        md += [f"{title} (in the host namespace, `sh -e`):", "", "```sh", script.rstrip(), "```", ""]
    return md


def write_report(out_dir, info, results, runs, elapsed):
    md = ["# uplinkctl benchmarks", "",
          f"Measured {info['date']} by `make bench` (tools/bench.py) in {elapsed / 60:.1f} minutes. "
          f"To rerun, as root in a checkout: `make bench` (it rewrites this file and aggregation.svg). "
          f"Every figure below was measured in that run; the comparisons are ratios within the run, since "
          f"absolute figures move with the machine.", "",
          "## Machine", "",
          f"- {info['cores']} cores ({info['cpu']}), kernel {info['kernel']}",
          f"- uplinkctl {info['commit']} (`{BINARY_LABEL}`)",
          f"- {info['iperf3']}; {info['iptables']}; {info['nft']}",
          "- Everything ran in network namespaces `ulk-bench-PID-*` that the harness made and removed; "
          "the machine's own network was not touched.", ""]
    if 1 in results:
        md += section_aggregation(results[1], runs)
        md += ["![Case 1: goodput as % of the practical sum](aggregation.svg)", ""]
    if 2 in results:
        md += section_apply(results[2])
    if 3 in results:
        md += section_dataplane(results[3])
    if 4 in results:
        md += section_accuracy(results[4])
    if 1 in results:
        md += ["## 5. Chart", "",
               "`docs/aggregation.svg` (above): case 1's medians as bars, min–max as whiskers, 100% = the "
               "practical sum of the same run.", ""]
        md += recipes_appendix()
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "benchmarks.md"), "w") as f:
        f.write("\n".join(md))
    if 1 in results:
        with open(os.path.join(out_dir, "aggregation.svg"), "w") as f:
            f.write(aggregation_svg(chart_groups(results[1])))


# Main

BINARY_LABEL = "?"


def remove_leftovers():
    """Safety net: any namespace of this run that a failure left behind (ours only, by PID)."""
    for line in sh("ip", "netns", "list", check=False).splitlines():
        name = line.split()[0] if line.split() else ""
        if name.startswith(PREFIX + "-"):
            sh("ip", "netns", "del", name, check=False)


def main():
    global BINARY_LABEL
    parser = argparse.ArgumentParser(description="uplinkctl benchmarks in labs of network namespaces")
    parser.add_argument("binary")
    parser.add_argument("--cases", default="1,2,3,4", help="which cases to run (default all)")
    parser.add_argument("--runs", type=int, default=3, help="runs of case 1 (default 3)")
    parser.add_argument("--out", default=os.path.join(ROOT, "docs"), help="where to write the report")
    args = parser.parse_args()
    cases = {int(c) for c in args.cases.split(",")}
    binary = os.path.abspath(args.binary)
    BINARY_LABEL = os.path.relpath(binary, ROOT)
    require_root("make bench")
    install_signal_handlers()
    started = time.monotonic()
    info = machine()
    info["date"] = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    progress(f"Benchmarks in namespaces {PREFIX}-*; uplinkctl {info['commit']}, {info['cores']} cores, "
             f"kernel {info['kernel']}. About 7 minutes; nothing touches this machine's own network.")
    results = {}
    try:
        with tempfile.TemporaryDirectory(prefix="ulk-bench-") as scratch:
            bench = Bench(binary, scratch)
            # Quick cases first, so that a problem shows in seconds, not after case 1.
            for case, run in ((2, case_apply), (4, case_accuracy), (3, case_dataplane)):
                if case in cases:
                    t = time.monotonic()
                    results[case] = run(bench)
                    progress(f"  ({time.monotonic() - t:.0f} s)")
            if 1 in cases:
                t = time.monotonic()
                results[1] = case_aggregation(bench, args.runs)
                progress(f"  ({time.monotonic() - t:.0f} s)")
    finally:
        remove_leftovers()
    elapsed = time.monotonic() - started
    write_report(args.out, info, results, args.runs, elapsed)
    progress(f"Wrote {os.path.relpath(args.out, ROOT)}/benchmarks.md"
             + (" and aggregation.svg" if 1 in results else "") + f" in {elapsed:.0f} s; labs removed.")
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--udp-send":
        udp_send(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
        sys.exit(0)
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("\ninterrupted; the labs were removed", file=sys.stderr)
        sys.exit(130)
    except RuntimeError as error:  # a lab command failed (or died of the same Ctrl-C first)
        print(f"\nbench failed: {error}\nthe labs were removed; nothing was written", file=sys.stderr)
        sys.exit(1)
