"""The soak: `uplinkctl run` for a long time in a lab of three uplinks (tools/lab.py), each
troubled in its own way, while its reactions, descriptors, memory and CPU are recorded.

- up1 loses 10% of its packets: an nft rule in gateway 1's namespace drops one forwarded packet
  in ten at random, both ways (this kernel has no netem). run must keep it in the rotation.
- up2 flaps: every FLAP_EVERY seconds the far end of its link (gateway 2's `dn`) is set down,
  then up again: the host's up2 loses its carrier, then has it back. run must take it out at
  once ("carrier lost") and bring it back after its probes' good rounds. Not up1: its veth and
  the far end have the same ifindex (2, each in its namespace), and the kernel's linkwatch then
  reports carrier changes up to a second late (it batches those of devices whose ifindex is their
  iflink, as it does for a physical NIC), which would measure the kernel rather than run.
- up3 goes away: every RECREATE_EVERY seconds its interface is deleted (the veth pair, so the
  gateway's end too) and RECREATE_GAP seconds later made again with its address. run must take
  it out ("interface up3 missing"), then install its routes again and bring it back.

Every induced event is matched to the log line of run's transition (its own time stamp) within
BOUND seconds; an event without one is a missed event. The result is data; provelib/report.py
writes it up.
"""
import datetime
import heapq
import json
import os
import subprocess
import time

from ..benchlib.cputime import process_memory, process_times
from ..lab import Lab, UplinkctlRun, sh

FLAP_EVERY = 2.0
RECREATE_EVERY = 30.0
RECREATE_GAP = 5.0
SAMPLE_EVERY = 10.0
# run's probes (the defaults: a round every 150 ms, back after 3 answered rounds) bring an
# uplink back in about half a second; a carrier loss or a missing interface is an event at once.
BOUND = 1.5
# Seconds before the first event (run starts and its probes see every uplink answer), and
# after the last one (its transition still has BOUND to show).
SETTLE = 5.0
TAIL = 3.0
LOSS_RULE = ("table ip loss {\n chain forward {\n  type filter hook forward priority 0; policy accept;\n"
             "  numgen random mod 10 0 counter drop\n }\n}\n")


def config():
    """examples/lab.yaml's shape: every uplink probes the server behind the gateways."""
    return ("balance: nth\ntraffic: [local, forwarded]\nhealth:\n  targets: [198.19.0.1]\nuplinks:\n"
            + "".join(f"  - {{name: up{n}, interface: up{n}, gateway: 198.18.{n}.1}}\n" for n in (1, 2, 3)))


def schedule(seconds):
    """(offset, action, uplink) for the whole soak, in time order; bounded by `seconds`."""
    last = seconds - TAIL
    events = []
    t = SETTLE
    while t + FLAP_EVERY <= last:
        events += [(t, "flap down", "up2"), (t + FLAP_EVERY, "flap up", "up2")]
        t += 2 * FLAP_EVERY
    t = SETTLE + FLAP_EVERY / 2
    while t + RECREATE_GAP <= last:
        events += [(t, "delete", "up3"), (t + RECREATE_GAP, "recreate", "up3")]
        t += RECREATE_EVERY
    return sorted(events)


# What each action does to the lab: the transition run must log for it, and the reason it must
# give (a carrier loss taken for lost probe rounds would be seen late).
EXPECTED = {"flap down": ("down", "carrier lost"), "flap up": ("up", "rounds answered"),
            "delete": ("down", "interface up3 missing"), "recreate": ("up", "rounds answered")}


def act(lab, action):
    gateway2, gateway3 = lab.gateways[1], lab.gateways[2]
    if action == "flap down":
        sh("ip", "-n", gateway2, "link", "set", "dn", "down")
    elif action == "flap up":
        sh("ip", "-n", gateway2, "link", "set", "dn", "up")
    elif action == "delete":
        sh("ip", "-n", lab.host, "link", "del", "up3")
    else:
        lab.batch(None, [f"link add up3 netns {lab.host} type veth peer name dn netns {gateway3}"])
        lab.batch(lab.host, ["addr add 198.18.3.2/24 dev up3", "link set up3 up"])
        lab.batch(gateway3, ["addr add 198.18.3.1/24 dev dn", "link set dn up"])


def process_sample(pid, started):
    """Seconds since the start, open descriptors, resident kB, CPU seconds (user + system)."""
    return {"t": time.monotonic() - started, "fds": len(os.listdir(f"/proc/{pid}/fd")), "rss_kb": process_memory(pid),
            "cpu_s": process_times(pid)}


def uplink3_routed(lab):
    """Whether up3's table holds its default route again (the kernel dropped it with the interface)."""
    return "default via 198.18.3.1 dev up3 " in sh("ip", "-n", lab.host, "route", "show", "table", "all")


def transitions(log):
    """run's transitions from its log: (wall time, uplink, "up"/"down", the line). run writes
    `2025-01-31T12:00:00.123 notice: uplink up1 down: carrier lost; ...`, its time in UTC."""
    result = []
    for line in log.splitlines():
        stamp, _, rest = line.partition(" ")
        words = rest.split()
        if len(words) < 4 or words[1] != "uplink" or words[3].rstrip(":") not in ("up", "down"):
            continue
        when = datetime.datetime.fromisoformat(stamp).replace(tzinfo=datetime.timezone.utc).timestamp()
        result.append((when, words[2], words[3].rstrip(":"), rest))
    return result


def match(events, logged):
    """Each induced event to the first unused transition of its uplink and direction logged from
    its time on (50 ms of slack before it: the event's time is taken just before the command that
    causes it) and before the uplink's next event. Returns the events with their delay (None: no
    such line at all) and whether it came within BOUND (`missed` when not), and the transitions
    no event explains. `reason`: the line gives the reason the event must cause."""
    used = set()
    matched = []
    for number, event in enumerate(events):
        following = [e["wall"] for e in events[number + 1:] if e["uplink"] == event["uplink"]]
        until = following[0] if following else float("inf")
        delay = None
        reason = False
        for index, (when, uplink, direction, line) in enumerate(logged):
            if index in used or uplink != event["uplink"] or direction != EXPECTED[event["action"]][0]:
                continue
            if event["wall"] - 0.05 <= when < until:
                used.add(index)
                delay = max(0.0, when - event["wall"])
                reason = EXPECTED[event["action"]][1] in line
                break
        missed = delay is None or delay > BOUND
        matched.append(dict(event, delay=delay, missed=missed, reason=not missed and reason))
    unexplained = [logged[i][3] for i in range(len(logged)) if i not in used]
    return matched, unexplained


def run_soak(binary, scratch, prefix, seconds, progress):
    """The soak for `seconds`; returns its data (see report.py's soak section)."""
    path = os.path.join(scratch, "soak.yaml")
    with open(path, "w") as f:
        f.write(config())
    events = []
    samples = []
    route_checks = []
    plan = schedule(seconds)
    progress(f"soak: uplinkctl run for {seconds:.0f} s in namespaces {prefix}-*: up1 losing 10%, up2 flapping every "
             f"{FLAP_EVERY:.0f} s, up3 deleted every {RECREATE_EVERY:.0f} s ({len(plan)} events)")
    with Lab(prefix, uplinks=3, lan=False) as lab:
        sh("ip", "netns", "exec", lab.gateways[0], "nft", "-f", "-", input=LOSS_RULE)
        run = UplinkctlRun(binary, lab.host, path)
        try:
            pid = run.process.pid
            started = time.monotonic()
            wall_started = time.time()
            queue = [(offset, 0, action, uplink) for offset, action, uplink in plan]
            queue += [(k * SAMPLE_EVERY, 1, "sample", None) for k in range(int(seconds // SAMPLE_EVERY) + 1)]
            heapq.heapify(queue)
            next_report = 60.0
            while queue:
                offset, _, action, uplink = heapq.heappop(queue)
                time.sleep(max(0.0, started + offset - time.monotonic()))
                if run.process.poll() is not None:
                    raise RuntimeError(f"uplinkctl run ended during the soak (status {run.process.returncode}):\n"
                                       + run.text()[-2000:])
                if action == "sample":
                    samples.append(process_sample(pid, started))
                    continue
                if action == "delete":
                    route_checks.append(uplink3_routed(lab))
                wall = time.time()
                act(lab, action)
                events.append({"t": wall - wall_started, "wall": wall, "action": action, "uplink": uplink})
                if offset >= next_report:
                    progress(f"  {offset:5.0f} s: {len(events)} events, {samples[-1]['fds']} descriptors, "
                             f"{samples[-1]['rss_kb']} kB resident, {samples[-1]['cpu_s']:.1f} s CPU")
                    next_report += 60.0
            time.sleep(max(0.0, started + seconds - time.monotonic()))
            route_checks.append(uplink3_routed(lab))
            # Every uplink is back: the kernel must hold exactly the config's plan.
            diff = subprocess.run([binary, "diff", "--netns", lab.host, path], capture_output=True, text=True)
            samples.append(process_sample(pid, started))
            wall_seconds = time.monotonic() - started
        finally:
            log = run.stop()
        counters = sh("ip", "netns", "exec", lab.gateways[0], "nft", "list", "table", "ip", "loss").split()
        dropped = int(counters[counters.index("packets") + 1])
    with open(os.path.join(scratch, "soak-run.log"), "w") as f:
        f.write(log)
    matched, unexplained = match(events, transitions(log))
    result = {"seconds": seconds, "wall_seconds": wall_seconds, "bound": BOUND, "flap_every": FLAP_EVERY,
            "recreate_every": RECREATE_EVERY, "recreate_gap": RECREATE_GAP, "events": matched,
            "unexplained": unexplained, "samples": samples, "route_checks": route_checks,
            "diff": {"status": diff.returncode, "output": (diff.stdout + diff.stderr).strip()},
            "dropped": dropped, "log_lines": len(log.splitlines()),
            "errors": [line for line in log.splitlines() if " error: " in line or " critical: " in line]}
    with open(os.path.join(scratch, "soak.json"), "w") as f:
        json.dump(result, f)
    return result
