"""Case 9, services: incoming connections spread over three backends by uplinkctl's DNAT
(`services:`), by seed 001's iptables recipe (a cascade of `-m statistic --mode nth` DNAT rules
and an SNAT per backend), by HAProxy in TCP mode (`balance roundrobin`), and, as the baseline,
straight to one backend through the same balancer as a plain router. New connections per
second for short request/response connections (pinned to one CPU, where the CPU a connection
costs is also read, and free), one-stream throughput, the spread over the backends (nth exact
per cycle, random within 3%, hash sticky), and a backend dying under load with `uplinkctl run`.

The lab (one per arm, all alike):

    client ─(eth0 · cl0)─ balancer ─(bk0 · eth0)─ backends        balancer ─(up1 · dn)─ gateway

The client is 198.18.210.2/24 (and HASH_CLIENTS), the balancer 198.18.210.1 on cl0 (the
service's address) and 198.18.220.1/24 on bk0, the backends 198.18.220.11-13 in one namespace,
each address its own server process. The gateway is only there because a config needs
`uplinks:`: up1 198.18.1.2/24, gateway 198.18.1.1, unshaped, carrying nothing. Traffic and
servers are svcbench (svcbench.c, compiled here with cc): C, so that neither end is what
limits the balancer."""
import contextlib
import json
import math
import os
import resource
import subprocess
import sys
import threading
import time

from ..lab import Namespaces, UplinkctlRun, sh

from .accuracy import prefix_deviation, window_check
from .dataplane import PLANE_CPU
from .failover import process_times
from .harness import PREFIX, PROGRAMS, in_ns, progress
from .policies import rotated
from .stats import median, spread
from .targets import targets_line

ARMS = ("direct", "uplinkctl", "iptables recipe", "HAProxy")
BALANCERS = ARMS[1:]
SERVICE = "198.18.210.1"
CLIENT = "198.18.210.2"
BALANCER_BACK = "198.18.220.1"
BACKENDS = ("198.18.220.11", "198.18.220.12", "198.18.220.13")
NAMES = tuple(f"b{n}" for n in range(1, len(BACKENDS) + 1))
HASH_CLIENTS = tuple(f"198.18.210.{20 + n}" for n in range(8))
PORT = 8080          # the service, nth over the three backends (every arm)
STREAM_PORT = 9000   # the same for the stream servers
# uplinkctl only: nth with weights, random, hash. Each service goes to the same port of the
# backends: translated connections of different services never share a tuple (a backend's
# TIME_WAIT of one would stall the SYN of another that NAT maps onto it).
WEIGHTED_PORT, RANDOM_PORT, HASH_PORT = 8081, 8082, 8083
SERVED_PORTS = (PORT, WEIGHTED_PORT, RANDOM_PORT, HASH_PORT)
WEIGHTS = (3, 2, 1)

WORKERS = 4
RATE_ROUNDS = {"pinned": 5, "free": 3}
RATE_SECONDS = 3
STREAM_ROUNDS = 3
STREAM_SECONDS = 3
STREAM_OMIT = 0.5
NTH_CONNECTIONS = 1200
RANDOM_CONNECTIONS = 10000
HASH_PER_CLIENT = 20
FAILOVER_TRIALS = 5
FAILOVER_LOAD = 0.5  # the failover's rate of new connections, as a share of uplinkctl's free median rate
FAILOVER_SECONDS = 3.0
KILL_AT = 1.0
HELD = 6             # established connections held through each failover
LATE = 0.005         # seconds: a connection answered this late was held up on its way
DEAD = 1             # the backend killed (b2)
SVCBENCH = os.path.join(PROGRAMS, "svcbench.c")

# Holds HELD connections to the service open; each line on stdin asks every one of them once
# ("k": the backend answers its name and keeps the connection) and prints the answers.
HOLDER = """
import socket, sys
held = [socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=2) for _ in range(int(sys.argv[3]))]
def ask(sock):
    try:
        sock.sendall(b"k\\n")
        return sock.recv(64).decode().strip() or "closed"
    except OSError:
        return "lost"
for line in sys.stdin:
    print(" ".join(ask(sock) for sock in held), flush=True)
"""


# The lab

class ServiceLab(Namespaces):
    """One arm's lab: client, balancer, backends and the uplink's gateway (module docstring)."""

    def __init__(self, name, tool):
        super().__init__()
        self.tool = tool
        self.client, self.balancer = f"{PREFIX}-svc-{name}-client", f"{PREFIX}-svc-{name}-balancer"
        self.backends, self.gateway = f"{PREFIX}-svc-{name}-backends", f"{PREFIX}-svc-{name}-gw"
        self.servers = {}
        self.config, self.haproxy = None, None  # set by install()

    def build(self):
        for name in (self.client, self.balancer, self.backends, self.gateway):
            self.add_namespace(name)
        # The balancer routes (the direct arm's path, and the recipe's); uplinkctl sets it too.
        in_ns(self.balancer, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        sh("ip", "-batch", "-", input=f"link add cl0 netns {self.balancer} type veth peer name eth0 netns {self.client}\n"
           f"link add bk0 netns {self.balancer} type veth peer name eth0 netns {self.backends}\n"
           f"link add up1 netns {self.balancer} type veth peer name dn netns {self.gateway}\n")
        sh("ip", "-n", self.client, "-batch", "-", input=f"addr add {CLIENT}/24 dev eth0\n"
           + "".join(f"addr add {a}/24 dev eth0\n" for a in HASH_CLIENTS)
           + f"link set eth0 up\nroute add default via {SERVICE}\n")
        sh("ip", "-n", self.balancer, "-batch", "-", input=f"addr add {SERVICE}/24 dev cl0\nlink set cl0 up\n"
           f"addr add {BALANCER_BACK}/24 dev bk0\nlink set bk0 up\n"
           "addr add 198.18.1.2/24 dev up1\nlink set up1 up\n")
        sh("ip", "-n", self.backends, "-batch", "-", input="".join(f"addr add {a}/24 dev eth0\n" for a in BACKENDS)
           + f"link set eth0 up\nroute add default via {BALANCER_BACK}\n")
        sh("ip", "-n", self.gateway, "-batch", "-", input="addr add 198.18.1.1/24 dev dn\nlink set dn up\n")
        for n in range(len(BACKENDS)):
            self.start_backend(n)
            # The stream servers on PLANE_CPU, where the sink runs (as in section 3).
            self.start(self.backends, ["taskset", "-c", str(PLANE_CPU), self.tool, "stream", BACKENDS[n],
                                       str(STREAM_PORT)], ("stream", n))

    def start(self, namespace, command, key):
        process = subprocess.Popen(["ip", "netns", "exec", namespace] + command, stdout=subprocess.PIPE,
                                   stderr=subprocess.DEVNULL, text=True)
        self.processes.append(process)
        if process.stdout.readline().strip() != "listening":
            raise RuntimeError(f"{' '.join(command)} did not start in {namespace}")
        self.servers[key] = process
        return process

    def start_backend(self, n):
        return self.start(self.backends, [self.tool, "serve", BACKENDS[n], ",".join(map(str, SERVED_PORTS)), NAMES[n]],
                          ("serve", n))

    def kill_backend(self, n):
        process = self.servers.pop(("serve", n))
        process.kill()
        process.wait()

    def load(self, address, port, seconds, count=2000000, rate=0, workers=WORKERS, sources=None, log=None, cpu=None):
        """svcbench load from the client: its JSON summary (and, with `log`, one line per connection).
        cpu: run the client on that CPU only."""
        pin = ["taskset", "-c", str(cpu)] if cpu is not None else []
        out = sh(*pin, "ip", "netns", "exec", self.client, self.tool, "load", address, str(port), str(workers), str(seconds),
                 str(count), f"{rate:.0f}", ",".join(sources) if sources else "-", log or "-")
        return json.loads(out)

    def pin(self, cpus):
        """The backends' servers and HAProxy (every thread) onto `cpus` ("1", or "0-1" to free them)."""
        for key, process in self.servers.items():
            if key[0] == "serve":
                sh("taskset", "-a", "-p", "-c", cpus, str(process.pid))
        if self.haproxy:
            sh("taskset", "-a", "-p", "-c", cpus, str(self.haproxy.pid))

    def flush_conntrack(self):
        """Every round starts with an empty table (a no-op where nothing loaded conntrack)."""
        sh("ip", "netns", "exec", self.balancer, "conntrack", "-F", check=False)


# The arms

def uplinkctl_config(health=True):
    """One uplink (the config needs one) and the services: PORT and STREAM_PORT nth, as the other
    arms; WEIGHTED_PORT, RANDOM_PORT and HASH_PORT for the spread. `run` checks PORT's backends
    only (health: false elsewhere), so its log is about the one that dies."""
    def backends(port, weights=None):
        if weights:
            return "[" + ", ".join(f"{{address: {a}, port: {port}, weight: {w}}}" for a, w in zip(BACKENDS, weights)) + "]"
        return "[" + ", ".join(f"{a}:{port}" for a in BACKENDS) + "]"

    def service(name, port, balance, to_port, weights=None, checked=False):
        return (f"  - name: {name}\n    port: {port}\n    address: {SERVICE}\n    balance: {balance}\n"
                f"    backends: {backends(to_port, weights)}\n" + ("" if checked and health else "    health: false\n"))
    return ("uplinks:\n  - {name: up1, interface: up1, gateway: 198.18.1.1}\n\nservices:\n"
            + service("rate", PORT, "nth", PORT, checked=True) + service("stream", STREAM_PORT, "nth", STREAM_PORT)
            + service("weighted", WEIGHTED_PORT, "nth", WEIGHTED_PORT, WEIGHTS)
            + service("random", RANDOM_PORT, "random", RANDOM_PORT) + service("sticky", HASH_PORT, "hash", HASH_PORT))


def recipe_script():
    """Seed 001's recipe for PORT and STREAM_PORT: DNAT rules cascaded by `-m statistic --mode nth
    --every N --packet 0` (N = the backends left), an SNAT to the balancer's address per backend."""
    lines = ["sysctl -qw net.ipv4.ip_forward=1"]
    for port in (PORT, STREAM_PORT):
        for n, backend in enumerate(BACKENDS):
            lines += [f"iptables -t nat -A PREROUTING -d {SERVICE} -p tcp --dport {port} -m statistic --mode nth "
                      f"--every {len(BACKENDS) - n} --packet 0 -j DNAT --to-destination {backend}:{port}",
                      f"iptables -t nat -A POSTROUTING -d {backend} -p tcp --dport {port} -j SNAT --to-source {SERVICE}"]
    return "\n".join(lines) + "\n"


def haproxy_config():
    """TCP mode, roundrobin, no health checks (as `apply`), otherwise HAProxy's defaults."""
    text = "defaults\n    mode tcp\n    timeout connect 2s\n    timeout client 10s\n" \
           "    timeout server 10s\n"
    for name, port in (("rate", PORT), ("stream", STREAM_PORT)):
        text += (f"\nfrontend {name}\n    bind {SERVICE}:{port}\n    default_backend {name}\n\nbackend {name}\n"
                 f"    balance roundrobin\n"
                 + "".join(f"    server {n} {a}:{port}\n" for n, a in zip(NAMES, BACKENDS)))
    return text


def install(bench, lab, arm):
    """Sets the balancer up for `arm`; returns (the config, the HAProxy process) as they apply."""
    if arm == "uplinkctl":
        config = bench.write(uplinkctl_config(), ".yaml")
        bench.uplinkctl("apply", "--netns", lab.balancer, config)
        return config, None
    if arm == "iptables recipe":
        in_ns(lab.balancer, "sh", "-e", "-c", recipe_script())
    if arm == "HAProxy":
        path = bench.write(haproxy_config(), ".cfg")
        in_ns(lab.balancer, "haproxy", "-c", "-q", "-f", path)
        process = subprocess.Popen(["ip", "netns", "exec", lab.balancer, "haproxy", "-db", "-f", path],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        lab.processes.append(process)
        for _ in range(250):
            listening = in_ns(lab.balancer, "ss", "-ltnH")
            if f"{SERVICE}:{PORT}" in listening and f"{SERVICE}:{STREAM_PORT}" in listening:
                return None, process
            time.sleep(0.02)
        raise RuntimeError("HAProxy did not start")
    return None, None


def target(arm, port):
    """Where the client connects: the service, or straight to the first backend."""
    return (BACKENDS[0] if arm == "direct" else SERVICE), port


# Measuring

def compile_tool(bench):
    path = os.path.join(bench.scratch, "svcbench")
    result = subprocess.run(["cc", "-O2", "-pthread", "-o", path, SVCBENCH], capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"cc could not build {SVCBENCH}: {result.stderr.strip()}")
    return path


def require_tools():
    """bench.py asks before any case runs, so that a missing tool shows in seconds."""
    missing = [tool for tool in ("cc", "haproxy") if not any(
        os.access(os.path.join(d, tool), os.X_OK) for d in os.environ.get("PATH", "").split(os.pathsep) + ["/usr/sbin"])]
    if missing:
        raise RuntimeError(f"case 9 needs {' and '.join(missing)}: apt-get install "
                           + " ".join("gcc" if t == "cc" else t for t in missing))


def cpu_busy():
    """Busy CPU time of the whole machine and the part of it stolen by the hypervisor, in seconds:
    every column of /proc/stat's cpu line but idle and iowait (user, nice, system, irq, softirq,
    steal), and steal."""
    with open("/proc/stat") as f:
        fields = [int(v) for v in f.readline().split()[1:9]]
    return (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK"), fields[7] / os.sysconf("SC_CLK_TCK")


def sequence_of(log):
    """The backends' indices in the order the (single) worker met them; None for a failure."""
    with open(log) as f:
        return [NAMES.index(line.split()[3]) if line.split()[2] == "ok" else None for line in f]


def measure_spread(bench, labs):
    """nth 1:1:1 one connection after another through each balancer; uplinkctl also nth with
    WEIGHTS, random over RANDOM_CONNECTIONS, and hash from HASH_CLIENTS."""
    result = {"nth": {}}
    for arm in BALANCERS:
        log = os.path.join(bench.scratch, f"nth-{arm.split()[0]}.log")
        labs[arm].load(SERVICE, PORT, 60, NTH_CONNECTIONS, workers=1, log=log)
        result["nth"][arm] = spread_row(sequence_of(log), [1] * len(BACKENDS))
    lab = labs["uplinkctl"]
    log = os.path.join(bench.scratch, "weighted.log")
    lab.load(SERVICE, WEIGHTED_PORT, 60, NTH_CONNECTIONS, workers=1, log=log)
    result["weighted"] = spread_row(sequence_of(log), list(WEIGHTS))
    summary = lab.load(SERVICE, RANDOM_PORT, 60, RANDOM_CONNECTIONS)
    result["random"] = {"counts": [summary["backends"].get(n, 0) for n in NAMES], "n": RANDOM_CONNECTIONS,
                        "failed": RANDOM_CONNECTIONS - summary["results"]["ok"]}
    log = os.path.join(bench.scratch, "hash.log")
    lab.load(SERVICE, HASH_PORT, 60, HASH_PER_CLIENT * len(HASH_CLIENTS), workers=1, sources=HASH_CLIENTS, log=log)
    met = {client: set() for client in HASH_CLIENTS}
    for index, backend in enumerate(sequence_of(log)):  # one worker: connection k came from source k mod 8
        met[HASH_CLIENTS[index % len(HASH_CLIENTS)]].add(NAMES[backend] if backend is not None else "failed")
    result["hash"] = {client: sorted(seen) for client, seen in met.items()}
    status = json.loads(bench.uplinkctl("status", "--json", "--netns", lab.balancer, lab.config))
    result["counters"] = {s["name"]: [b["connections"] for b in s["backends"]] for s in status["services"]}
    return result


def spread_row(sequence, weights):
    answered = [b for b in sequence if b is not None]
    good, windows = window_check(answered, weights)
    return {"weights": weights, "n": len(sequence), "answered": len(answered), "windows_good": good, "windows": windows,
            "counts": [answered.count(b) for b in range(len(weights))], "first": answered[:sum(weights)],
            "prefix_dev": prefix_deviation(answered, weights)}


def ksoftirqd_pids():
    """The kernel threads that run network softirqs when the CPU they were raised on is busy."""
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/comm") as f:
                    if f.read().startswith("ksoftirqd/"):
                        pids.append(int(entry))
            except OSError:
                pass
    return pids


def path_cpu(lab, softirqd):
    """CPU seconds so far of the processes in the path other than the client: the backends'
    servers, HAProxy (its own share apart) and ksoftirqd."""
    servers = sum(process_times(p.pid) for key, p in lab.servers.items() if key[0] == "serve")
    return {"servers": servers, "haproxy": process_times(lab.haproxy.pid) if lab.haproxy else 0.0,
            "ksoftirqd": sum(process_times(pid) for pid in softirqd)}


def measured_load(lab, arm, softirqd, cpu=None):
    """One run of the load against `arm` from an empty conntrack table: its summary, the CPU time
    of every process in the path (the client's from its rusage), and the machine's busy time."""
    lab.flush_conntrack()
    before, children, busy = path_cpu(lab, softirqd), resource.getrusage(resource.RUSAGE_CHILDREN), cpu_busy()
    summary = lab.load(*target(arm, PORT), RATE_SECONDS, cpu=cpu)
    (busy, steal), after, children_after = ((now - then for now, then in zip(cpu_busy(), busy)), path_cpu(lab, softirqd),
                                             resource.getrusage(resource.RUSAGE_CHILDREN))
    used = {key: after[key] - before[key] for key in before}
    used["client"] = (children_after.ru_utime + children_after.ru_stime) - (children.ru_utime + children.ru_stime)
    used["path"] = sum(used.values())
    used["machine"], used["steal"] = busy, steal
    ok = summary["results"]["ok"]
    return {"rate": ok / summary["seconds"], "ok": ok, "failed": summary["connections"] - ok,
            "backends": summary["backends"], "seconds": summary["seconds"], "cpu": used}


def measure_rates(labs, softirqd):
    """Pinned rounds, then free ones, each arm in turn in a rotating order: WORKERS clients for
    RATE_SECONDS as fast as they can. Pinned: the client, the servers and HAProxy on PLANE_CPU
    (the whole path runs there, as in section 3); free: wherever the scheduler puts them."""
    result = {kind: {arm: [] for arm in ARMS} for kind in RATE_ROUNDS}
    for kind, rounds in RATE_ROUNDS.items():
        cpu = PLANE_CPU if kind == "pinned" else None
        if cpu is not None:
            for lab in labs.values():
                lab.pin(str(cpu))
        try:
            for i in range(rounds):
                for arm in rotated(list(ARMS), i):
                    result[kind][arm].append(measured_load(labs[arm], arm, softirqd, cpu))
                progress(f"  new connections, {kind}: " + ", ".join(
                    f"{arm} {result[kind][arm][-1]['rate'] / 1000:.1f} k/s" for arm in ARMS)
                    + ("; CPU per connection " + ", ".join(f"{per_connection(result[kind][arm][-1]):.1f}"
                                                          for arm in ARMS) + " µs" if cpu is not None else ""))
        finally:
            if cpu is not None:
                for lab in labs.values():
                    lab.pin(f"0-{os.cpu_count() - 1}")
    return result


def per_connection(run, part="path"):
    """Microseconds of CPU per answered connection."""
    return 1e6 * run["cpu"][part] / run["ok"] if run["ok"] else float("inf")


def measure_streams(labs):
    """STREAM_ROUNDS one-connection downloads per arm, the sink, the stream servers and HAProxy
    on PLANE_CPU (as section 3 pins iperf3)."""
    result = {arm: [] for arm in ARMS}
    haproxy = labs["HAProxy"].haproxy
    sh("taskset", "-a", "-p", "-c", str(PLANE_CPU), str(haproxy.pid))
    try:
        for i in range(STREAM_ROUNDS):
            for arm in rotated(list(ARMS), i):
                address, port = target(arm, STREAM_PORT)
                out = sh("taskset", "-c", str(PLANE_CPU), "ip", "netns", "exec", labs[arm].client, labs[arm].tool,
                         "sink", address, str(port), str(STREAM_SECONDS), str(STREAM_OMIT))
                result[arm].append(json.loads(out)["mbit"] / 1000)
            progress("  one stream " + ", ".join(f"{arm} {result[arm][-1]:.2f} Gbit/s" for arm in ARMS))
    finally:
        sh("taskset", "-a", "-p", "-c", f"0-{os.cpu_count() - 1}", str(haproxy.pid), check=False)
    return result


class MapWatch:
    """`nft monitor` in the balancer: every change to its ruleset, with when it arrived."""

    def __init__(self, lab):
        self.events = []
        self.process = subprocess.Popen(["ip", "netns", "exec", lab.balancer, "nft", "monitor"], stdout=subprocess.PIPE,
                                        stderr=subprocess.DEVNULL, text=True)
        lab.processes.append(self.process)
        threading.Thread(target=self.read, daemon=True).start()

    def read(self):
        for line in self.process.stdout:
            self.events.append((time.monotonic(), line.strip()))

    def first(self, text, after):
        """When the first event naming `text` arrived after `after`, or None."""
        return next((at for at, line in list(self.events) if at >= after and text in line), None)

    def stop(self):
        self.process.terminate()
        self.process.wait()


def failover_trial(bench, lab, run, watch, rate):
    """HELD connections opened, then new connections at `rate` for FAILOVER_SECONDS; KILL_AT in,
    the dead backend's server is killed (SIGKILL: its port refuses from then on). Then the held
    connections are asked again, and the server restarted until run puts it back."""
    holder = subprocess.Popen(["ip", "netns", "exec", lab.client, sys.executable, "-c", HOLDER, SERVICE, str(PORT), str(HELD)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    lab.processes.append(holder)
    try:
        holder.stdin.write("\n")
        holder.stdin.flush()
        before = holder.stdout.readline().split()
        log = os.path.join(bench.scratch, "failover.log")
        log_at = len(run.text())
        start = time.monotonic()
        load = subprocess.Popen(["ip", "netns", "exec", lab.client, lab.tool, "load", SERVICE, str(PORT), str(WORKERS),
                                 str(FAILOVER_SECONDS), "2000000", f"{rate:.0f}", "-", log],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        lab.processes.append(load)
        time.sleep(max(0, start + KILL_AT - time.monotonic()))
        killed = time.monotonic()
        lab.kill_backend(DEAD)
        needle = f"backend rate-{DEAD + 1} {BACKENDS[DEAD]}:{PORT} down"
        logged = None
        while logged is None and time.monotonic() < killed + 3:
            if needle in run.text()[log_at:]:
                logged = time.monotonic()
            else:
                time.sleep(0.005)
        summary = json.loads(load.communicate(timeout=30)[0])
        # What conntrack still sends to the dead backend: its entries, and those closed by a reset.
        entries = in_ns(lab.balancer, "conntrack", "-L", "-p", "tcp", "--reply-src", BACKENDS[DEAD]).splitlines()
        holder.stdin.write("\n")
        holder.stdin.flush()
        after = holder.stdout.readline().split()
    finally:
        holder.kill()
        holder.wait()
    line = next((line for line in run.text()[log_at:].splitlines() if needle in line), "")
    changed_at = watch.first("backends-rate-v4", killed)
    lab.start_backend(DEAD)
    if not run.wait_for(f"backend rate-{DEAD + 1} {BACKENDS[DEAD]}:{PORT} up", 5, log_at):
        raise RuntimeError("uplinkctl run did not put the backend back:\n" + run.text()[log_at:])
    with open(log) as f:
        connections = [(float(s), float(e), result, backend, port) for s, e, result, backend, port in (l.split() for l in f)]
    after_kill = [c for c in connections if c[0] >= killed]
    failed = [c for c in connections if c[2] != "ok"]
    # Only the dead backend refuses, or resets what it had accepted when it died: until run
    # changes the map (with 50 ms for what was on its way), its share of new connections; after
    # it, none should meet it. Any other failure is a connection lost that should not have been.
    changed = (changed_at or killed + 3) + 0.05
    refusals = [c for c in failed if c[2] in ("refused", "reset") and c[0] >= killed - 0.05]
    dead = [c for c in refusals if c[0] <= changed]
    stale = [c for c in refusals if c[0] > changed]
    last_dead = max((c[0] for c in dead), default=killed)
    # The connections that could meet the dead backend: started between the kill and the last
    # that did; its share of them (a third) should have failed, and no more.
    window = [c for c in after_kill if c[0] <= last_dead]
    late = [c for c in window if c[2] == "ok" and c[1] - c[0] >= LATE]
    before_kill = [c for c in connections if c[0] < killed]
    live = [(b, a) for b, a in zip(before, after) if b != NAMES[DEAD]]
    return {"logged": (logged - killed) if logged else None, "last_dead": last_dead - killed,
            "changed": (changed_at - killed) if changed_at else None,
            "last_any": (max(c[0] for c in refusals) - killed) if refusals else None,
            "connections": len(connections), "after_kill": len(after_kill), "failed": len(failed),
            "dead": len(dead), "stale": len(stale), "stale_ports": len({c[4] for c in stale}),
            "last_stale": (max(c[0] for c in stale) - killed) if stale else None,
            "other": len(failed) - len(refusals), "window": len(window), "late": len(late),
            "other_kinds": sorted(c[2] for c in failed if c not in refusals),
            "entries": len(entries), "closed_entries": sum(1 for e in entries if " CLOSE " in e),
            "late_before": sum(1 for c in before_kill if c[1] - c[0] >= LATE), "before": len(before_kill),
            "after": [sum(1 for c in connections if c[3] == name and c[0] > changed) for name in NAMES],
            "held": before, "held_after": after, "held_live": len(live), "held_kept": sum(1 for b, a in live if a == b),
            "line": line.strip(), "offered": summary["connections"]}


def measure_failover(bench, lab, rate):
    run = UplinkctlRun(bench.binary, lab.balancer, bench.write(uplinkctl_config(), ".yaml"))
    watch = MapWatch(lab)
    trials = []
    try:
        for _ in range(FAILOVER_TRIALS):
            trial = failover_trial(bench, lab, run, watch, rate)
            trials.append(trial)
            logged = "never" if trial["logged"] is None else f"{trial['logged'] * 1000:.0f} ms"
            changed = "never" if trial["changed"] is None else f"{trial['changed'] * 1000:.0f} ms"
            progress(f"  failover: map changed after {changed}, logged after {logged}, last connection to the dead backend "
                     f"before the change "
                     f"{trial['last_dead'] * 1000:.0f} ms after the kill; {trial['dead']} of {trial['window']} failed, "
                     f"{trial['stale']} after the change, {trial['other']} otherwise; held {trial['held_kept']} of "
                     f"{trial['held_live']} kept")
    finally:
        watch.stop()
        run.stop()
    return trials


def measure(bench):
    require_tools()
    progress(f"case 9: services, {len(ARMS)} arms: spread; {RATE_ROUNDS['pinned']} pinned and {RATE_ROUNDS['free']} free "
             f"rounds of {RATE_SECONDS} s of new connections ({WORKERS} clients); {STREAM_ROUNDS} one-stream downloads; "
             f"{FAILOVER_TRIALS} backend failures under run")
    tool = compile_tool(bench)
    with contextlib.ExitStack() as stack:
        labs = {}
        for arm in ARMS:
            lab = stack.enter_context(ServiceLab(arm.split()[0].lower(), tool))
            lab.config, lab.haproxy = install(bench, lab, arm)
            labs[arm] = lab
        spread_result = measure_spread(bench, labs)
        softirqd = ksoftirqd_pids()
        rates = measure_rates(labs, softirqd)
        streams = measure_streams(labs)
        failover_rate = FAILOVER_LOAD * median([r["rate"] for r in rates["free"]["uplinkctl"]])
        failover = measure_failover(bench, labs["uplinkctl"], failover_rate)
    return {"spread": spread_result, "rates": rates, "streams": streams,
            "failover": failover, "failover_rate": failover_rate, "haproxy": sh("haproxy", "-v").splitlines()[0]}


# Writing up

def ratio(series, arm, base="direct"):
    return median(series[arm]) / median(series[base])


def counts_text(counts):
    return " / ".join(str(c) for c in counts)


def even_deviation(counts, weights):
    """The largest |count − expected| over the backends, as % of the expected count."""
    total, weight = sum(counts), sum(weights)
    return max(100 * abs(c - total * w / weight) / (total * w / weight) for c, w in zip(counts, weights))


def section(result):
    rates = {kind: {arm: [r["rate"] for r in runs] for arm, runs in series.items()} for kind, series in result["rates"].items()}
    pinned = result["rates"]["pinned"]
    cpu = {arm: [per_connection(r) for r in runs] for arm, runs in pinned.items()}
    streams, spread_result, trials = result["streams"], result["spread"], result["failover"]
    md = ["## 9. Services", "",
          "Incoming connections for one address and port spread over three backends (`services:`), against the ways "
          "they are spread without uplinkctl. One lab per arm, all alike and set up once: a client namespace "
          f"({CLIENT}), the balancer ({SERVICE}, the service's address, towards the client; {BALANCER_BACK} towards "
          f"the backends) and one namespace with the three backends b1, b2, b3 ({', '.join(BACKENDS)}), each its own "
          "server process; the balancer also has the one uplink a config needs, to a gateway namespace that carries "
          "nothing. No shaping. Client and servers are `svcbench` (tools/programs/svcbench.c, built with `cc -O2` "
          "by the case): a backend is one thread with epoll, answers a line with its name and closes the connection "
          "itself (so the TIME_WAIT stays with the server and the client never runs out of ports); the client opens "
          "connections from threads, connect, a line, the answer to the end, close, and counts the answers by name. "
          "In C, so that neither end is what limits the balancer: the direct arm below sends every connection to one "
          "backend process, and that is the fastest arm. The arms:", "",
          f"- **direct**: the client connects to b1 ({BACKENDS[0]}:{PORT}) itself; the balancer only routes it (no "
          "ruleset, so no conntrack in its namespace). What a connection costs the lab without any balancing: "
          "the baseline.",
          f"- **uplinkctl**: `uplinkctl apply --netns` of a config whose service for the load is "
          f"`{{name: rate, port: {PORT}, address: {SERVICE}, backends: [{', '.join(f'{a}:{PORT}' for a in BACKENDS)}]}}` "
          f"(nth; masqueraded toward the backends by default), with more services for the spread below "
          f"(ports {WEIGHTED_PORT} to {HASH_PORT}, each to the same port of the backends) and one uplink.",
          f"- **iptables recipe**: seed 001's commands, per backend k of n: `iptables -t nat -A PREROUTING -d {SERVICE} "
          f"-p tcp --dport {PORT} -m statistic --mode nth --every n−k --packet 0 -j DNAT --to-destination B:{PORT}` "
          f"(cascaded: --every 3, 2, 1) and `iptables -t nat -A POSTROUTING -d B -p tcp --dport {PORT} -j SNAT "
          f"--to-source {SERVICE}`, with ip_forward.",
          f"- **HAProxy**: {result['haproxy'].split(' - ')[0]} (Debian's `haproxy`), the usual userspace answer: "
          f"`mode tcp`, `balance roundrobin`, the three servers without `check` (as `apply`, nothing watches "
          f"them), otherwise its defaults (one thread per CPU).", ""]
    md += rate_part(result, rates) + cpu_part(pinned, cpu) + stream_part(streams)
    md += spread_part(spread_result) + failover_part(result, trials)
    nth_ok = spread_ok(spread_result["nth"]["uplinkctl"]) and spread_ok(spread_result["weighted"])
    random_dev = even_deviation(spread_result["random"]["counts"], [1] * len(BACKENDS))
    sticky = all(len(seen) == 1 and seen[0] != "failed" for seen in spread_result["hash"].values())
    rate_ratio, over_haproxy = ratio(rates["pinned"], "uplinkctl"), ratio(rates["pinned"], "uplinkctl", "HAProxy")
    stream_ratio = ratio(streams, "uplinkctl")
    worst = max(t["changed"] if t["changed"] is not None else math.inf for t in trials)
    logged = max(t["logged"] if t["logged"] is not None else math.inf for t in trials)
    stale, other = sum(t["stale"] for t in trials), sum(t["other"] for t in trials)
    dropped = sum(t["held_live"] - t["held_kept"] for t in trials)
    md += [targets_line([
        (f"nth exact per cycle, 1:1:1 and {':'.join(map(str, WEIGHTS))} (every window of W consecutive connections "
         f"meets each backend its weight's number of times)", nth_ok),
        (f"random within 3% over {RANDOM_CONNECTIONS:,} connections (max deviation {random_dev:.2f}%)", random_dev <= 3),
        (f"hash sticky (each of {len(HASH_CLIENTS)} clients met one backend)", sticky),
        (f"new connections per second through uplinkctl at least 95% of direct, pinned ({100 * rate_ratio:.1f}%; "
         f"free {100 * ratio(rates['free'], 'uplinkctl'):.1f}%)", rate_ratio >= 0.95),
        (f"ahead of HAProxy, pinned ({over_haproxy:.2f}× its rate, free {ratio(rates['free'], 'uplinkctl', 'HAProxy'):.2f}×; "
         f"CPU per connection {median(cpu['uplinkctl']):.1f} µs against {median(cpu['HAProxy']):.1f} µs)",
         over_haproxy > 1),
        (f"one-stream throughput at least 95% of direct ({100 * stream_ratio:.1f}%)", stream_ratio >= 0.95),
        (f"a dead backend out of the map within 1 s with `run` (at most {worst * 1000:.0f} ms after the kill; the "
         f"log line at most {logged * 1000:.0f} ms)", worst <= 1),
        (f"no connection to the other backends lost (new connections that met the dead backend after the change: "
         f"{stale}; failed otherwise: {other}; held connections to the others dropped: {dropped})",
         stale + other + dropped == 0)]), ""]
    return md


def rate_part(result, rates):
    md = ["### New connections per second", "",
          f"{WORKERS} client threads open short connections as fast as they can for {RATE_SECONDS} s; the rate counts "
          "answered connections. The balancer's conntrack table is emptied before each run; the arms take turns in "
          "each round, in a rotating order.", "",
          f"- **pinned** ({RATE_ROUNDS['pinned']} rounds): the client, the backends' servers and HAProxy (every "
          f"thread) on CPU {PLANE_CPU}. A veth hands a packet to the next namespace on the same CPU, so the whole "
          "path runs there, the rate follows what a connection costs, and the other core is left to the rest of "
          "the machine; **the targets are judged on this one**.",
          f"- **free** ({RATE_ROUNDS['free']} rounds): wherever the scheduler puts them, as a user would run it; on "
          f"this {os.cpu_count()}-core machine everything shares both cores.", "",
          "The spread is the answers' backend names, summed over the runs, and their largest deviation from an even "
          "share.", "",
          "| runs | arm | min | median | max | median ÷ direct | answers per backend (b1 / b2 / b3) | deviation from even "
          "| failed |", "|---|---|---|---|---|---|---|---|---|"]
    for kind, series in rates.items():
        for arm in ARMS:
            low, mid, high = (v / 1000 for v in spread(series[arm]))
            runs = result["rates"][kind][arm]
            counts = [sum(r["backends"].get(name, 0) for r in runs) for name in NAMES]
            deviation = "(one backend)" if arm == "direct" else f"{even_deviation(counts, [1] * len(BACKENDS)):.3f}%"
            md.append(f"| {kind} | {arm} | {low:.1f} k/s | {mid:.1f} k/s | {high:.1f} k/s | {100 * ratio(series, arm):.1f}% | "
                      f"{counts_text(counts)} | {deviation} | {sum(r['failed'] for r in runs)} |")
    pinned = rates["pinned"]
    apart = min(pinned["direct"]) > max(pinned["uplinkctl"]) or min(pinned["uplinkctl"]) > max(pinned["direct"])
    md += ["", "Every run (k/s): " + "; ".join(f"{kind} {arm} " + ", ".join(f"{v / 1000:.1f}" for v in series[arm])
                                            for kind, series in rates.items() for arm in ARMS) + ".", "",
           f"Pinned, uplinkctl keeps {100 * ratio(pinned, 'uplinkctl'):.1f}% of direct (the runs of the two "
           + ("do not overlap" if apart else "overlap") + f"), the recipe {100 * ratio(pinned, 'iptables recipe'):.1f}% "
           f"and HAProxy {100 * ratio(pinned, 'HAProxy'):.1f}%; uplinkctl makes "
           f"{ratio(pinned, 'uplinkctl', 'HAProxy'):.2f}× HAProxy's rate.", ""]
    return md


def cpu_part(pinned, cpu):
    own = [per_connection(r, "haproxy") for r in pinned["HAProxy"]]
    others = [(r["cpu"]["machine"] - r["cpu"]["path"]) / r["seconds"] for runs in pinned.values() for r in runs]
    steal = [r["cpu"]["steal"] / r["seconds"] for runs in pinned.values() for r in runs]
    direct = median(cpu["direct"])
    md = ["### CPU per connection", "",
          "From the pinned runs: the CPU time (user + system) of every process on the path, that is the client (its "
          "rusage), the three backends' server processes and HAProxy (/proc/PID/stat), plus the kernel's ksoftirqd "
          "threads, divided by the answered connections. The balancer's kernel work (routing, conntrack, NAT) runs "
          "in softirq inside those processes' system calls, so it is in those figures; other processes on the "
          "machine are not ("
          + (f"the machine's busy time in /proc/stat, sampled at each timer tick, was {100 * median(others):.0f}% of a "
             "core above the path's, median, during these runs"
             if median(others) >= 0.05 else "the machine's busy time in /proc/stat was within 5% of a core of the "
             "path's, median, during these runs")
          + f"; the hypervisor's steal time was {100 * median(steal):.1f}% of a core, median, at most "
          f"{100 * max(steal):.1f}%). What the balancer costs a connection is the difference from direct; HAProxy's own process is shown "
          "apart.", "",
          "| arm | CPU per connection, min / median / max | added over direct (medians) | HAProxy's process, median |",
          "|---|---|---|---|"]
    for arm in ARMS:
        low, mid, high = spread(cpu[arm])
        extra = "" if arm == "direct" else f"{mid - direct:+.1f} µs"
        md.append(f"| {arm} | {low:.1f} / {mid:.1f} / {high:.1f} µs | {extra} | "
                  + (f"{median(own):.1f} µs" if arm == "HAProxy" else "") + " |")
    md += ["", f"uplinkctl adds {median(cpu['uplinkctl']) - direct:.1f} µs to a connection, the recipe "
           f"{median(cpu['iptables recipe']) - direct:.1f} µs and HAProxy {median(cpu['HAProxy']) - direct:.1f} µs, "
           f"{median(own):.1f} µs of it in its own process (two sockets per connection, the data copied through user "
           "space).", ""]
    return md


def stream_part(streams):
    md = ["### One stream", "",
          f"One TCP connection downloads zeros from a backend's stream server for {STREAM_SECONDS} s, the first "
          f"{STREAM_OMIT} s not counted ({STREAM_ROUNDS} rounds, rotating). The sink, the stream servers and HAProxy "
          f"(all its threads) run on CPU {PLANE_CPU}, as section 3 pins iperf3: the whole path then runs there and the "
          "throughput follows its cost per packet.", "",
          "| arm | min | median | max | median ÷ direct |", "|---|---|---|---|---|"]
    for arm in ARMS:
        low, mid, high = spread(streams[arm])
        md.append(f"| {arm} | {low:.2f} Gbit/s | {mid:.2f} Gbit/s | {high:.2f} Gbit/s | {100 * ratio(streams, arm):.1f}% |")
    md += ["", "Every run (Gbit/s): " + "; ".join(f"{arm} " + ", ".join(f"{v:.2f}" for v in streams[arm]) for arm in ARMS)
           + ".", ""]
    return md


def spread_ok(row):
    return row["windows_good"] == row["windows"] and row["answered"] == row["n"]


def spread_part(result):
    counters = result["counters"]
    md = ["### Spread over the backends", "",
          f"nth: {NTH_CONNECTIONS:,} connections one after another from one client thread, so that the answers are "
          "in the order the balancer saw the connections; every window of W consecutive connections (W = the sum of "
          f"the weights), wherever it starts, must meet each backend exactly its weight. random: {RANDOM_CONNECTIONS:,} "
          f"connections from {WORKERS} threads. hash: {HASH_PER_CLIENT} connections from each of {len(HASH_CLIENTS)} "
          f"client addresses ({HASH_CLIENTS[0]} to {HASH_CLIENTS[-1]}), in turn. uplinkctl's counters (`status "
          "--json`, each backend's `connections`) are shown beside the answers.", "",
          "| balancer | mode | connections | answers per backend | check | uplinkctl's counters |", "|---|---|---|---|---|---|"]
    for arm, row in result["nth"].items():
        mode = "nth 1:1:1" if arm != "HAProxy" else "roundrobin"
        md.append(f"| {arm} | {mode} | {row['n']:,} | {counts_text(row['counts'])} | {nth_check(row)} | "
                  + (counts_text(counters["rate"]) if arm == "uplinkctl" else "") + " |")
    row = result["weighted"]
    md.append(f"| uplinkctl | nth {':'.join(map(str, WEIGHTS))} | {row['n']:,} | {counts_text(row['counts'])} | "
              f"{nth_check(row)} | {counts_text(counters['weighted'])} |")
    random_row = result["random"]
    md.append(f"| uplinkctl | random 1:1:1 | {random_row['n']:,} | {counts_text(random_row['counts'])} | largest deviation "
              f"{even_deviation(random_row['counts'], [1] * len(BACKENDS)):.2f}% of the expected "
              f"{random_row['n'] / len(BACKENDS):.0f}; {random_row['failed']} failed | {counts_text(counters['random'])} |")
    seen = result["hash"]
    met = sorted({b for backends in seen.values() for b in backends})
    one = sum(1 for backends in seen.values() if len(backends) == 1 and backends[0] != "failed")
    md.append(f"| uplinkctl | hash | {HASH_PER_CLIENT * len(HASH_CLIENTS)} | "
              + ", ".join(f"{client.rsplit('.', 1)[1]}→{'+'.join(b)}" for client, b in seen.items())
              + f" | {one} of {len(seen)} clients always met the same backend; together they met {', '.join(met)} | "
              f"{counts_text(counters['sticky'])} |")
    n, p = RANDOM_CONNECTIONS, 1 / len(BACKENDS)
    sigma = (n * p * (1 - p)) ** 0.5
    within = math.erf(0.03 * n * p / sigma / 2 ** 0.5) ** len(BACKENDS)
    md += ["", f"random is chance: each backend's count varies by σ = √(N·p·(1−p)) = {sigma:.0f} connections "
           f"({100 * sigma / (n * p):.1f}% of {n * p:.0f}), so all three land within 3% in about {100 * within:.0f}% of "
           f"runs. hash: the client's address and the service's, hashed (nft `jhash`), so a client keeps its backend "
           f"for as long as the backends do not change.", ""]
    return md


def nth_check(row):
    first = " ".join(NAMES[b] for b in row["first"])
    return (f"{row['windows_good']:,} of {row['windows']:,} windows exact; {row['answered']:,} answered; "
            f"first cycle {first}; no backend ever more than {row['prefix_dev']:.2f} from its share")


def failover_part(result, trials):
    md = ["### A backend dies under load, with `uplinkctl run`", "",
          f"In the uplinkctl lab, `uplinkctl run --netns` with the same config; only the load's service is checked "
          f"(the default: a TCP connect to each backend every 150 ms, out after 4 lost rounds). {FAILOVER_TRIALS} "
          f"trials. Each: {HELD} connections opened and held (they meet the backends in turn), then new connections "
          f"at {result['failover_rate'] / 1000:.1f} k/s ({100 * FAILOVER_LOAD:.0f}% of uplinkctl's free median rate above, "
          f"{WORKERS} threads) for {FAILOVER_SECONDS:.0f} s; {KILL_AT:.0f} s in, b2's server is killed (SIGKILL: its "
          "port refuses from then on, and what it had accepted is reset). Measured from the kill: when the map "
          "changed (`nft monitor` in the balancer, the first event of the service's slot map), when run's log line "
          f"(`backend rate-2 {BACKENDS[DEAD]}:{PORT} down: …`) appeared (the harness reads the log every 5 ms), and "
          "when the last new connection that b2 refused or reset started. Until the map changes (and 50 ms more for "
          "what was on its way), b2's share of new connections meets it; after that none should: one that does, or "
          "a failure of any other kind, is lost. When the load ends, the balancer's conntrack entries still "
          "translated to b2 are counted, and the held connections are asked again: those to b1 and b3 must answer "
          "as before. b2's server is restarted and run puts it back before the next trial.", "",
          "| trial | kill → map change | kill → log line | kill → last connection to b2 | until the change: started, "
          f"failed, answered late (≥ {LATE * 1000:.0f} ms) | late before the kill | met b2 after the change (client "
          "ports) | failed otherwise | conntrack entries to b2 at the end (closed by a reset) | new connections after "
          "the change (b1 / b2 / b3) | held connections to b1, b3 kept |",
          "|---|---|---|---|---|---|---|---|---|---|---|"]

    def ms(value):
        return "never" if value is None else f"{value * 1000:.0f} ms"
    for number, t in enumerate(trials, start=1):
        stale = f"{t['stale']} ({t['stale_ports']})" if t["stale"] else "0"
        kinds = ", ".join(f"{t['other_kinds'].count(k)} {k}" for k in sorted(set(t["other_kinds"])))
        md.append(f"| {number} | {ms(t['changed'])} | {ms(t['logged'])} | {ms(t['last_any'])} | {t['window']}, "
                  f"{t['dead']}, {t['late']} | {t['late_before']} of {t['before']} | {stale} | "
                  f"{t['other']}{f' ({kinds})' if kinds else ''} | "
                  f"{t['entries']} ({t['closed_entries']}) | {counts_text(t['after'])} | {t['held_kept']} of {t['held_live']} |")
    line = trials[0]["line"].split(" ", 1)[1] if trials and trials[0]["line"] else ""
    window = sum(t["window"] for t in trials)
    after = sum(sum(t["after"]) for t in trials) or 1
    stale = sum(t["stale"] for t in trials)
    gap = [t["logged"] - t["changed"] for t in trials if t["logged"] is not None and t["changed"] is not None]
    md += ["", f"run's line in trial 1: `{line}`."
           + (f" It comes {1000 * min(gap):.0f} to {1000 * max(gap):.0f} ms after the map change: run writes it once it "
              "has also dealt with the dead backend's conntrack entries." if gap else ""), "",
           f"Until the map changes, the balancer sends b2's share of new connections (a third) to b2. Fewer fail "
           f"({sum(t['dead'] for t in trials)} of the {window} started in those spans, all trials) because b2 closed its "
           "earlier connections first and still holds many of their tuples in TIME_WAIT: a SYN that NAT maps onto one "
           "of those is answered with a bare ACK (no listener takes it over), the client resets it and resends its SYN "
           "about 10 ms later (the kernel's quickest retransmission), conntrack opens a new connection for it, and the "
           f"next slot sends it to b1 or b3: it is answered, late ({sum(t['late'] for t in trials)} of them, against "
           f"{sum(t['late_before'] for t in trials)} in the second before the kills). The client threads wait on those, "
           "so they started fewer connections in that span than the pace asks.", ""]
    if stale:
        md += [f"After the change, {stale} new connection{'s' if stale != 1 else ''} (all trials) still met b2. When "
               "the load ended, conntrack "
               f"still held {sum(t['entries'] for t in trials)} entries translated to b2 (all trials), "
               f"{sum(t['closed_entries'] for t in trials)} of them closed by a reset. A connection that b2 reset as it "
               "died leaves such an entry, with its translation to b2; a new connection from the same client port "
               "matches it, and conntrack reuses it as it is (it reopens a closed entry only after a FIN, or after a "
               "reset from the client's side), so the SYN goes to b2 and is refused, which keeps the entry for another "
               "10 s, unless run deletes it.", ""]
    md += ["After the change, b2's one slot of three goes to one heir (the map keeps its size), so until b2 is back "
           "the other two do not share evenly: " + " and ".join(
               f"{NAMES[b]} took {100 * sum(t['after'][b] for t in trials) / after:.0f}%"
               for b in range(len(BACKENDS)) if b != DEAD) + " of the new connections after the change.", ""]
    return md
