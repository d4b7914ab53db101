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
import os
import resource
import subprocess
import sys
import threading
import time

from ..lab import Namespaces, UplinkctlRun, sh

from .accuracy import prefix_deviation, window_check
from .cputime import cpu_busy, ksoftirqd_pids, process_times
from .dataplane import PLANE_CPU
from .harness import PREFIX, PROGRAMS, in_ns, progress
from .policies import rotated
from .stats import median

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
        sh("ip", "-batch", "-",
           input=f"link add cl0 netns {self.balancer} type veth peer name eth0 netns {self.client}\n"
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
        out = sh(*pin, "ip", "netns", "exec", self.client, self.tool, "load", address, str(port), str(workers),
                 str(seconds), str(count), f"{rate:.0f}", ",".join(sources) if sources else "-", log or "-")
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
            return "[" + ", ".join(f"{{address: {a}, port: {port}, weight: {w}}}"
                                   for a, w in zip(BACKENDS, weights)) + "]"
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
                      f"iptables -t nat -A POSTROUTING -d {backend} -p tcp --dport {port} -j SNAT --to-source "
                      f"{SERVICE}"]
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
        os.access(os.path.join(d, tool), os.X_OK)
        for d in os.environ.get("PATH", "").split(os.pathsep) + ["/usr/sbin"])]
    if missing:
        raise RuntimeError(f"case 9 needs {' and '.join(missing)}: apt-get install "
                           + " ".join("gcc" if t == "cc" else t for t in missing))


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
    (busy, steal), after, children_after = ((now - then for now, then in zip(cpu_busy(), busy)),
                                             path_cpu(lab, softirqd), resource.getrusage(resource.RUSAGE_CHILDREN))
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
    holder = subprocess.Popen(["ip", "netns", "exec", lab.client, sys.executable, "-c", HOLDER, SERVICE, str(PORT),
                               str(HELD)],
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
        connections = [(float(s), float(e), result, backend, port)
                       for s, e, result, backend, port in (line.split() for line in f)]
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
            progress(f"  failover: map changed after {changed}, logged after {logged}, last connection to the dead "
                     "backend "
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
    progress(f"case 9: services, {len(ARMS)} arms: spread; {RATE_ROUNDS['pinned']} pinned and "
             f"{RATE_ROUNDS['free']} free "
             f"rounds of {RATE_SECONDS} s of new connections ({WORKERS} clients); {STREAM_ROUNDS} one-stream "
             f"downloads; "
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
