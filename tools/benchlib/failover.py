"""Case 8, failover: how long new connections fail when an uplink dies, for `uplinkctl run`
(health checks at their defaults), uplinkctl without health checks, and the kernel's ECMP route
with ignore_routes_with_linkdown=1. Two events on uplink 2: its carrier goes (the far end of
its link is set down), or its gateway silently stops forwarding (the link stays up). Then 60 s
of 10% random loss on one link (no transition expected), and run's CPU with 8 uplinks probed."""
import json
import os
import subprocess
import sys
import threading
import time

from ..lab import SERVICE, Lab, UplinkctlRun, sh

from .accuracy import start_echo_server
from .cputime import process_memory, process_times
from .fanout import FanOut
from .harness import PREFIX, PROGRAMS, in_ns, progress
from .methods import ecmp_script

ARMS = ("uplinkctl run", "uplinkctl, no health checks", "kernel ECMP")
EVENTS = ("carrier", "silent")
EVENT_NAMES = {"carrier": "carrier lost", "silent": "gateway stops forwarding"}
TRIALS = 20
INTERVAL_MS = 20
BEFORE, REPAIR_AFTER, AFTER = 0.6, 1.5, 1.2   # seconds: event at BEFORE, repair REPAIR_AFTER later
CONNECT_TIMEOUT = 1.0
DOWNLOADS = 6
LOSS_SECONDS = 60
CPU_SECONDS = 60
CPU_UPLINKS = 8
TCP_STREAM = os.path.join(PROGRAMS, "tcp_stream.py")


def config(health=True):
    """examples/lab.yaml's shape, probing the server through each uplink (or not)."""
    return ("balance: nth\ntraffic: [local, forwarded]\n"
            + ("health:\n  targets: [" + SERVICE + "]\n" if health else "")
            + "uplinks:\n"
            + "".join(f"  - {{name: up{n}, interface: up{n}, gateway: 198.18.{n}.1}}\n" for n in (1, 2, 3)))


def install(bench, lab, arm):
    if arm == "uplinkctl run":
        return UplinkctlRun(bench.binary, lab.host, bench.write(config(), ".yaml"))
    if arm.startswith("uplinkctl"):
        bench.uplinkctl("apply", "--netns", lab.host, bench.write(config(health=False), ".yaml"))
        return None
    in_ns(lab.host, "sh", "-e", "-c", ecmp_script([1, 1, 1])
          + "sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.ignore_routes_with_linkdown=1\n")
    return None


def event(lab, kind, broken):
    if kind == "carrier":
        sh("ip", "-n", lab.gateways[1], "link", "set", "dn", "down" if broken else "up")
    else:
        lab.forwarding(2, not broken)


def trial(lab, kind, run, samples=None):
    """One trial: downloads on every uplink, new connections every INTERVAL_MS from the LAN
    client, the event at BEFORE, the repair REPAIR_AFTER later."""
    downloads = []
    for _ in range(DOWNLOADS):
        downloads.append(lab.start_download(lab.lan, BEFORE + REPAIR_AFTER + AFTER + 1))
        time.sleep(0.05)
    time.sleep(0.3)
    count = int((BEFORE + REPAIR_AFTER + AFTER) * 1000 / INTERVAL_MS)
    command = [sys.executable, TCP_STREAM, str(count), str(INTERVAL_MS), SERVICE, "7", str(CONNECT_TIMEOUT)]
    stream = subprocess.Popen(["ip", "netns", "exec", lab.lan] + command, stdout=subprocess.PIPE, text=True)
    stop_sampling = threading.Event()
    if samples is not None:
        threading.Thread(target=sample, args=(lab, samples, stop_sampling), daemon=True).start()
    start = time.monotonic()
    log_at = len(run.text()) if run else 0
    time.sleep(max(0, start + BEFORE - 0.5 - time.monotonic()))
    bytes_before = lab.received_bytes()
    time.sleep(max(0, start + BEFORE - time.monotonic()))
    bytes_event = lab.received_bytes()
    broke = time.monotonic()
    event(lab, kind, True)
    time.sleep(0.5)
    bytes_after = lab.received_bytes()
    time.sleep(max(0, broke + REPAIR_AFTER - time.monotonic()))
    repaired = time.monotonic()
    event(lab, kind, False)
    out, _ = stream.communicate(timeout=60)
    stop_sampling.set()
    for process in downloads:
        process.kill()
        process.wait()
    if run:
        # The next trial starts with uplink 2 back in the rotation.
        run.wait_for("uplink up2 up", 3, log_at)
    connections = [json.loads(line) for line in out.splitlines()]
    failed = [c["t"] - broke for c in connections if not c["ok"] and broke <= c["t"] < repaired]
    back = [c["t"] - repaired for c in connections if c["ok"] and c["uplink"] == 2 and c["t"] >= repaired]
    healthy = [(b - a, c - b) for n, (a, b, c) in enumerate(zip(bytes_before, bytes_event, bytes_after)) if n != 1]
    return {"last_failed": max(failed) if failed else 0.0, "failed": len(failed), "connections": len(connections),
            "back": min(back) if back else None,
            "healthy_before": sum(h[0] for h in healthy), "healthy_after": sum(h[1] for h in healthy),
            "times": {"event": broke, "repair": repaired}}


def sample(lab, samples, stop):
    """Bytes down each uplink every 100 ms, for the chart."""
    last, last_time = lab.received_bytes(), time.monotonic()
    while not stop.wait(0.1):
        now, current = time.monotonic(), lab.received_bytes()
        samples.append((now, [(c - p) * 8 / 1e6 / (now - last_time) for p, c in zip(last, current)]))
        last, last_time = current, now


def settle(lab):
    """Between trials: the conntrack table emptied, the uplink back in the rotation."""
    in_ns(lab.host, "conntrack", "-F")
    time.sleep(0.5)


def measure_trials(bench):
    result = {arm: {kind: [] for kind in EVENTS} for arm in ARMS}
    charts = {}
    for number, arm in enumerate(ARMS):
        with Lab(f"{PREFIX}-fail{number}", uplinks=3, rates_mbit=[20, 20, 20]) as lab:
            start_echo_server(lab)
            lab.start_source()
            run = install(bench, lab, arm)
            try:
                for kind in EVENTS:
                    for index in range(TRIALS):
                        samples = [] if arm == ARMS[0] and index == 0 else None
                        outcome = trial(lab, kind, run, samples)
                        if samples is not None:
                            charts[kind] = {"samples": samples, "times": outcome["times"]}
                        result[arm][kind].append(outcome)
                        back = "never" if outcome["back"] is None else f"{outcome['back'] * 1000:.0f} ms"
                        progress(f"  {arm:28} {kind:8} trial {index + 1:2d}: last failed start "
                                 f"{outcome['last_failed'] * 1000:6.0f} ms after the event, {outcome['failed']} "
                                 f"failed; "
                                 f"back in the cycle after {back}")
                        settle(lab)
            finally:
                if run:
                    run.stop()
    return result, charts


def measure_loss(bench):
    """LOSS_SECONDS of 10% random loss, both ways, through gateway 2: run must not take it out."""
    with Lab(f"{PREFIX}-loss", uplinks=3, lan=False) as lab:
        start_echo_server(lab)
        in_ns(lab.gateways[1], "nft", "-f", "-", input="table ip loss {\n chain forward {\n"
              "  type filter hook forward priority 0; policy accept;\n  numgen random mod 10 0 counter drop\n }\n}\n")
        run = UplinkctlRun(bench.binary, lab.host, bench.write(config(), ".yaml"))
        time.sleep(LOSS_SECONDS)
        log = run.stop()
        dropped = in_ns(lab.gateways[1], "nft", "list", "table", "ip", "loss")
    transitions = log.count("uplink up2 down") + log.count("uplink up2 up")
    words = dropped.split()
    return {"transitions": transitions, "dropped": int(words[words.index("packets") + 1])}


def measure_cpu(bench):
    """run with CPU_UPLINKS uplinks, each probing its own gateway, for CPU_SECONDS: CPU time,
    memory and descriptors at the start and at the end."""
    with FanOut(CPU_UPLINKS) as fan:
        yaml = "uplinks:\n" + "".join(f"  - {{name: up{n}, interface: up{n}, gateway: 198.18.{n}.1, "
                                      f"health: {{targets: [198.18.{n}.1]}}}}\n" for n in range(1, CPU_UPLINKS + 1))
        run = UplinkctlRun(bench.binary, fan.host, bench.write(yaml, ".yaml"))
        time.sleep(2)
        pid = run.process.pid
        cpu, memory, descriptors = process_times(pid), process_memory(pid), len(os.listdir(f"/proc/{pid}/fd"))
        time.sleep(CPU_SECONDS)
        result = {"cpu": (process_times(pid) - cpu) / CPU_SECONDS, "rss_start": memory, "rss_end": process_memory(pid),
                  "fds_start": descriptors, "fds_end": len(os.listdir(f"/proc/{pid}/fd"))}
        run.stop()
        fan.reset()
    return result


def measure(bench):
    progress(f"case 8: failover, {TRIALS} trials per arm and event ({len(ARMS)} arms, {len(EVENTS)} events), "
             f"a new TCP connection every {INTERVAL_MS} ms; then {LOSS_SECONDS} s of 10% loss and "
             f"{CPU_SECONDS} s of run's CPU with {CPU_UPLINKS} uplinks")
    trials, charts = measure_trials(bench)
    loss = measure_loss(bench)
    progress(f"  10% loss for {LOSS_SECONDS} s: {loss['transitions']} transitions ({loss['dropped']} packets dropped)")
    cpu = measure_cpu(bench)
    progress(f"  run with {CPU_UPLINKS} uplinks probed: {cpu['cpu'] * 100:.2f}% of one core")
    return {"trials": trials, "charts": charts, "loss": loss, "cpu": cpu}
