"""The lab: network namespaces in which uplinkctl balances real traffic, for `make demo`,
`make bench` and `make prove`. The same layout as the tests' lab (Tests/UplinkLabTests/Support/Lab.swift):

    lan ─(eth0 · lan0)─ host ─(upN · dn)─ gwN ─(srv · gN)─ server     N = 1 … uplinks

Uplink N: upN 198.18.N.2/24 in host, gateway 198.18.N.1 on dn in gwN; gwN reaches the server
(198.19.0.1 on its lo) over 198.18.(100+N).0/24 without NAT, and the server routes
198.18.N.0/24 back through gwN. The LAN client is 198.18.200.2/24 behind the host's lan0.
Each uplink can be shaped with tc tbf, both ways (host upN egress = upload, gwN dn egress =
download). Nothing is connected to the machine's own namespace; every address is in the
benchmarking range 198.18.0.0/15.
"""
import atexit
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

SERVICE = "198.19.0.1"
LAN_CLIENT = "198.18.200.2"


def sh(*args, input=None, check=True):
    """Runs a lab tool (ip, tc, nft, iperf3) and returns its stdout."""
    result = subprocess.run(args, input=input, capture_output=True, text=True)
    if check and result.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} exited {result.returncode}: {result.stderr.strip()}")
    return result.stdout


def remove_namespaces(prefix):
    """Safety net: every namespace named PREFIX-* (a run's own, by its PID) that a failure left behind."""
    for line in sh("ip", "netns", "list", check=False).splitlines():
        name = line.split()[0] if line.split() else ""
        if name.startswith(prefix + "-"):
            sh("ip", "netns", "del", name, check=False)


class Namespaces:
    """Network namespaces made for a lab and the processes started in them, all removed on exit
    (also on an error while building): the processes first, since a namespace lives on while a
    process is inside it. A subclass builds its lab in `build`."""

    def __init__(self):
        self.made = []
        self.processes = []

    def __enter__(self):
        try:
            self.build()
        except BaseException:
            self.destroy()
            raise
        return self

    def __exit__(self, *exc):
        self.destroy()
        return False

    def add_namespace(self, name, *settings):
        """A new namespace with its loopback up, IPv6 off (no stray packet of its own) and `settings`."""
        sh("ip", "netns", "add", name)
        self.made.append(name)
        sh("ip", "-n", name, "link", "set", "lo", "up")
        sh("ip", "netns", "exec", name, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1",
           "net.ipv6.conf.default.disable_ipv6=1", *settings)

    def destroy(self):
        for process in self.processes:
            if process.poll() is None:
                process.kill()
                process.wait()
        self.processes = []
        for name in reversed(self.made):
            sh("ip", "netns", "del", name, check=False)
        self.made = []


class Lab(Namespaces):
    def __init__(self, prefix, uplinks=3, rates_mbit=None, lan=True):
        super().__init__()
        self.prefix = prefix
        self.count = uplinks
        self.rates = rates_mbit
        self.lan_enabled = lan
        self.host = f"{prefix}-host"
        self.server = f"{prefix}-server"
        self.lan = f"{prefix}-lan"
        self.gateways = [f"{prefix}-gw{n}" for n in range(1, uplinks + 1)]

    # Building

    def namespaces(self):
        return [self.host, self.server] + self.gateways + ([self.lan] if self.lan_enabled else [])

    def build(self):
        for name in self.namespaces():
            self.add_namespace(name, *(["net.ipv4.ip_forward=1"] if name in self.gateways else []))
        uplinks = range(1, self.count + 1)
        root = []
        for n in uplinks:
            root.append(f"link add up{n} netns {self.host} type veth peer name dn netns {self.gateways[n - 1]}")
            root.append(f"link add srv netns {self.gateways[n - 1]} type veth peer name g{n} netns {self.server}")
        if self.lan_enabled:
            root.append(f"link add lan0 netns {self.host} type veth peer name eth0 netns {self.lan}")
        self.batch(None, root)
        host = []
        for n in uplinks:
            host += [f"addr add 198.18.{n}.2/24 dev up{n}", f"link set up{n} up"]
        if self.lan_enabled:
            host += ["addr add 198.18.200.1/24 dev lan0", "link set lan0 up"]
        # Local sockets need a first route; uplinkctl's output hook reroutes by mark.
        host.append("route add default via 198.18.1.1")
        self.batch(self.host, host)
        for n in uplinks:
            self.batch(self.gateways[n - 1], [
                f"addr add 198.18.{n}.1/24 dev dn", "link set dn up",
                f"addr add 198.18.{100 + n}.1/24 dev srv", "link set srv up",
                f"route add {SERVICE}/32 via 198.18.{100 + n}.2",
            ])
        server = [f"addr add {SERVICE}/32 dev lo"]
        for n in uplinks:
            server += [f"addr add 198.18.{100 + n}.2/24 dev g{n}", f"link set g{n} up",
                       f"route add 198.18.{n}.0/24 via 198.18.{100 + n}.1"]
        self.batch(self.server, server)
        if self.lan_enabled:
            self.batch(self.lan, [f"addr add {LAN_CLIENT}/24 dev eth0", "link set eth0 up",
                                  "route add default via 198.18.200.1"])
        if self.rates:
            self.shape(self.rates)

    def batch(self, namespace, commands):
        where = ["-n", namespace] if namespace else []
        sh("ip", *where, "-batch", "-", input="\n".join(commands) + "\n")

    def shape(self, rates_mbit):
        """tc tbf on both ends of each uplink: upload on host upN, download on gwN dn."""
        for n, rate in enumerate(rates_mbit, start=1):
            for namespace, device in ((self.host, f"up{n}"), (self.gateways[n - 1], "dn")):
                sh("ip", "netns", "exec", namespace, "tc", "qdisc", "replace", "dev", device, "root",
                   "tbf", "rate", f"{rate}mbit", "burst", "64kb", "latency", "50ms")

    # Traffic

    def start_server(self, command, port, name):
        """Starts `command` in the server's namespace and waits until it listens on SERVICE:port."""
        process = subprocess.Popen(["ip", "netns", "exec", self.server] + command,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.processes.append(process)
        for _ in range(100):
            if f"{SERVICE}:{port}" in sh("ip", "netns", "exec", self.server, "ss", "-ltnH"):
                return
            time.sleep(0.02)
        raise RuntimeError(f"{name} did not start")

    def start_iperf_server(self, port=5201):
        self.start_server(["iperf3", "-s", "-B", SERVICE, "-p", str(port)], port, "iperf3 server")

    # A download that is one TCP connection and nothing else (iperf3 adds a control
    # connection, which takes a balancing slot and, when it dies, ends its data streams too):
    # the transfer source below, with plain TCP, and this sink.
    SINK = ("import socket, sys, time\n"
            "end = time.monotonic() + float(sys.argv[1])\n"
            "s = socket.create_connection(('%s', %d), timeout=2)\n"
            "try:\n"
            "    while time.monotonic() < end and s.recv(65536): pass\n"
            "except OSError: pass\n")
    STREAM_PORT = 9000

    # One download over one connection, MPTCP (IPPROTO_MPTCP, 262) or plain TCP (0): a source
    # that sends zeros to every connection, and a fetch that prints its goodput per second.
    TRANSFER_SOURCE = ("import socket, sys, threading\n"
                       "server = socket.socket(socket.AF_INET, socket.SOCK_STREAM, int(sys.argv[3]))\n"
                       "server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
                       "server.bind((sys.argv[1], int(sys.argv[2]))); server.listen(16)\n"
                       "def serve(connection):\n"
                       "    chunk = bytes(65536)\n"
                       "    try:\n"
                       "        while True: connection.sendall(chunk)\n"
                       "    except OSError: connection.close()\n"
                       "while True: threading.Thread(target=serve, args=(server.accept()[0],), daemon=True).start()\n")
    TRANSFER_FETCH = ("import json, socket, sys, time\n"
                      "address, port, seconds, protocol = "
                      "sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])\n"
                      "s = socket.socket(socket.AF_INET, socket.SOCK_STREAM, protocol); s.settimeout(2)\n"
                      "s.connect((address, port)); start = time.monotonic(); per_second = [0] * seconds\n"
                      "try:\n"
                      "    while True:\n"
                      "        second = int(time.monotonic() - start)\n"
                      "        if second >= seconds: break\n"
                      "        data = s.recv(262144)\n"
                      "        if not data: break\n"
                      "        per_second[second] += len(data)\n"
                      "except OSError: pass\n"
                      "print(json.dumps([b * 8 / 1e6 for b in per_second]))\n")
    MPTCP = 262

    def start_transfer_source(self, port, protocol):
        """The download source on SERVICE:port, MPTCP (Lab.MPTCP) or plain TCP (0)."""
        self.start_server([sys.executable, "-c", self.TRANSFER_SOURCE, SERVICE, str(port), str(protocol)], port,
                          "the transfer source")

    def fetch(self, port, seconds, protocol):
        """One download from the transfer source: its goodput in each second, Mbit/s."""
        return json.loads(sh("ip", "netns", "exec", self.host, sys.executable, "-c", self.TRANSFER_FETCH, SERVICE,
                             str(port), str(seconds), str(protocol)))

    def start_source(self):
        """A server that sends zeros to every connection until it closes (plain TCP)."""
        self.start_transfer_source(self.STREAM_PORT, 0)

    def start_download(self, namespace, seconds):
        """One connection that downloads from the source for `seconds`, in the background."""
        process = subprocess.Popen(["ip", "netns", "exec", namespace, sys.executable, "-c",
                                    self.SINK % (SERVICE, self.STREAM_PORT), str(seconds)],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.processes.append(process)
        return process

    def download(self, namespace, streams, seconds=3, bind=None, cpu=None):
        """Goodput in Mbit/s of a download from the server with `streams` parallel TCP streams.
        cpu: pin both iperf3 ends to that CPU (iperf3 -A), for repeatable CPU-bound runs."""
        args = ["ip", "netns", "exec", namespace, "iperf3", "-c", SERVICE, "-R", "-J", "-P", str(streams),
                "-t", str(seconds), "-O", "1"]
        if bind:
            args += ["-B", bind]
        if cpu is not None:
            args += ["-A", f"{cpu},{cpu}"]
        out = sh(*args)
        return json.loads(out)["end"]["sum_received"]["bits_per_second"] / 1e6

    def forwarding(self, n, on):
        """Gateway n stops (or resumes) forwarding: its link stays up, the path is gone."""
        sh("ip", "netns", "exec", self.gateways[n - 1], "sysctl", "-qw", f"net.ipv4.ip_forward={1 if on else 0}")

    def received_bytes(self):
        """Bytes each gateway sent toward the host: what came down each uplink."""
        return [int(sh("ip", "netns", "exec", gateway, "cat", "/sys/class/net/dn/statistics/tx_bytes"))
                for gateway in self.gateways]


class UplinkctlRun:
    """`uplinkctl run` for a lab's host, in the background, its log in a temporary file; started
    once it has logged how it started (an error if it does not within 10 s)."""

    def __init__(self, binary, host, config):
        self.file = tempfile.NamedTemporaryFile("w", prefix="ulk-run-", suffix=".log")
        self.process = subprocess.Popen([binary, "run", "--netns", host, config], stdout=self.file, stderr=self.file)
        if not self.wait_for("start:", 10):
            self.stop()
            raise RuntimeError("uplinkctl run did not start:\n" + self.text())

    def text(self):
        with open(self.file.name) as f:
            return f.read()

    def wait_for(self, needle, seconds, after=0):
        """Whether `needle` shows in the log past offset `after` within `seconds`."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if needle in self.text()[after:]:
                return True
            if self.process.poll() is not None:
                return needle in self.text()[after:]
            time.sleep(0.02)
        return False

    def stop(self):
        """Ends it (SIGTERM) and returns its whole log."""
        if self.process.poll() is None:
            self.process.terminate()
        self.process.wait(timeout=5)
        text = self.text()
        self.file.close()
        return text


def private_copy(path):
    """The config at `path` in a file only root can write: uplinkctl, run as root, refuses a
    config another user could change (a checkout of the repository may be a user's)."""
    descriptor, copy = tempfile.mkstemp(prefix="uplinkctl-", suffix=".yaml")
    with os.fdopen(descriptor, "w") as f, open(path) as source:
        f.write(source.read())
    atexit.register(lambda: os.path.exists(copy) and os.unlink(copy))
    return copy


def install_signal_handlers():
    """Ctrl-C and kill unwind through the `with Lab(...)` blocks, which remove the lab."""
    def stop(signum, frame):
        raise KeyboardInterrupt
    # SIGINT too: a shell starts background jobs with it ignored, and Python keeps it so.
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, stop)


def require_root(what):
    if os.geteuid() != 0:
        raise SystemExit(f"{what} needs root: it makes network namespaces (ip netns add) and "
                         f"applies uplinkctl inside them; run it as root (sudo make ...). "
                         f"It never changes this machine's own network.")
