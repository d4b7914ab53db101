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
from .fanout import FanOut
from .harness import PREFIX, PROGRAMS, in_ns, progress
from .methods import ecmp_script
from .stats import median, percentile
from .targets import targets_line

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
    return ("balance: nth\ntraffic: [local, forwarded]\n" + ("health:\n  targets: [" + SERVICE + "]\n" if health else "")
            + "uplinks:\n" + "".join(f"  - {{name: up{n}, interface: up{n}, gateway: 198.18.{n}.1}}\n" for n in (1, 2, 3)))


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
                                 f"{outcome['last_failed'] * 1000:6.0f} ms after the event, {outcome['failed']} failed; "
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


def process_times(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def process_memory(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


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


# Writing up

def section(result):
    trials, loss, cpu = result["trials"], result["loss"], result["cpu"]
    md = ["## 8. Failover", "",
          f"A lab of three uplinks shaped to 20 Mbit/s, the echo server behind them. In each trial {DOWNLOADS} "
          f"one-connection downloads run from the LAN client (so every uplink carries some), and the LAN client opens a new TCP "
          f"connection to the echo server every {INTERVAL_MS} ms (each in its own thread, {CONNECT_TIMEOUT:.0f} s to be "
          f"answered; the answer names the gateway it came through). {BEFORE} s in, uplink 2 fails: **carrier lost** (the "
          f"far end of its link set down) or **gateway stops forwarding** (the link stays up); {REPAIR_AFTER} s later it "
          f"is repaired. {TRIALS} trials per arm and event, the conntrack table emptied between them. "
          "Arms, one lab each:", "",
          "- **uplinkctl run**: `examples/lab.yaml`'s shape with `health: {targets: [198.19.0.1]}`, the defaults (a "
          "round every 150 ms, out after 4 lost rounds, back after 3).",
          "- **uplinkctl, no health checks**: the same config applied once, nothing watching.",
          "- **kernel ECMP**: the multipath route of section 1 with `net.ipv4.conf.all.ignore_routes_with_linkdown=1`, "
          "the kernel's own reaction to a lost carrier.", "",
          "Per trial: the last failed connection's start, from the event (0 when none failed); the bytes the other two "
          "uplinks carried in the half second after the event, as a share of the half second before (their downloads "
          "must go on); after the repair, the first connection answered through uplink 2 (back in the cycle). An arm "
          "that does not react fails until the repair; its last failed start stays under the 1.5 s outage, because a "
          "connection started in its last half second or so is saved by its SYN's retransmission (1 s later) after the "
          "repair.", "",
          "| arm | event | last failed start, p50 / p99 / max | failed connections, median "
          "| healthy uplinks' bytes after ÷ before, min | back in the cycle after repair, p50 / max |",
          "|---|---|---|---|---|---|"]
    for arm in ARMS:
        for kind in EVENTS:
            rows = trials[arm][kind]
            last = [r["last_failed"] * 1000 for r in rows]
            healthy = [r["healthy_after"] / r["healthy_before"] if r["healthy_before"] else 0 for r in rows]
            back = [r["back"] * 1000 for r in rows if r["back"] is not None]
            back_text = f"{median(back):.0f} / {max(back):.0f} ms" if len(back) == len(rows) else \
                (f"{median(back):.0f} / {max(back):.0f} ms ({len(rows) - len(back)} trials never)" if back else "never")
            failed = median([r["failed"] for r in rows])
            md.append(f"| {arm} | {EVENT_NAMES[kind]} | {median(last):.0f} / {percentile(last, 0.99):.0f} / "
                      f"{max(last):.0f} ms | {failed:.0f} of "
                      f"{rows[0]['connections']} | {100 * min(healthy):.0f}% | {back_text} |")
    ours = trials[ARMS[0]]
    carrier_max = max(r["last_failed"] for r in ours["carrier"]) * 1000
    silent_max = max(r["last_failed"] for r in ours["silent"]) * 1000
    recovery = [r["back"] for r in ours["silent"]]
    recovery_max = max(recovery) * 1000 if all(b is not None for b in recovery) else float("inf")
    healthy_min = min(r["healthy_after"] / r["healthy_before"] for kind in EVENTS for r in ours[kind] if r["healthy_before"])
    md += ["", targets_line([
        (f"carrier loss: no new connection fails that started more than 50 ms after it (max {carrier_max:.0f} ms)",
         carrier_max <= 50),
        (f"silent gateway: none that started more than 1 s after it (max {silent_max:.0f} ms)", silent_max <= 1000),
        (f"back into the cycle within 2 s of the gateway's return (max {recovery_max:.0f} ms)", recovery_max <= 2000),
        (f"the healthy uplinks keep carrying their downloads (at least 90% of their bytes, min {100 * healthy_min:.0f}%)",
         healthy_min >= 0.9),
        (f"no transition in {LOSS_SECONDS} s of 10% random loss ({loss['transitions']})", loss["transitions"] == 0),
        (f"run under 1% of one core with {CPU_UPLINKS} uplinks probed ({cpu['cpu'] * 100:.2f}%)", cpu["cpu"] < 0.01),
    ]), "",
        f"The loss: an nft rule in gateway 2's namespace drops one forwarded packet in ten at random "
        f"(`numgen random mod 10 0 drop`, both ways: {loss['dropped']} packets dropped in {LOSS_SECONDS} s); "
        f"`uplinkctl run` logged {loss['transitions']} transitions.", "",
        f"`uplinkctl run` with {CPU_UPLINKS} uplinks, each probing its own gateway at the defaults, for {CPU_SECONDS} s: "
        f"{cpu['cpu'] * 100:.2f}% of one core; resident memory {cpu['rss_start']} kB at the start, {cpu['rss_end']} kB at "
        f"the end; {cpu['fds_start']} file descriptors at the start, {cpu['fds_end']} at the end.", "",
        "![Case 8: what each uplink carried around the failure and the repair](failover.svg)", ""]
    return md
