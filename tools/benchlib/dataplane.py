"""Case 3, data-plane cost: what a ruleset adds to the CPU time of moving data through the host,
with no ruleset, uplinkctl's, and the seed's recipe's. Each round downloads a fixed amount over one
TCP stream (iperf3 -n) with both ends pinned to one CPU, so that the whole path runs there, and
takes the CPU time it cost: the two iperf3 processes' user + system time and the softirq threads'
(per process, so that what else runs on this shared machine does not count), and, as a second
witness, that CPU's system + irq + softirq time from /proc/stat (which does count it). Many short
rounds, the rulesets in a rotating order within each, so that a drift of the machine hits all alike;
the report gives each ratio to "none" with a bootstrap confidence interval over the rounds."""
import contextlib
import json
import os
import resource
import subprocess

from ..lab import SERVICE, Lab, private_copy

from .aggregation import EQUAL
from .cputime import cpu_kernel_time, ksoftirqd_pids, process_times
from .harness import PREFIX, ROOT, progress
from .methods import install

PLANE_ARMS = ("none", "uplinkctl", "iptables recipe")
PLANE_ROUNDS = 30
PLANE_BYTES = 1 << 30  # one GiB a round
PLANE_CPU = os.cpu_count() - 1


def transfer(lab, server_pid, softirqd):
    """One download of PLANE_BYTES from the lab's iperf3 server: bytes, seconds and CPU seconds."""
    before = (process_times(server_pid), sum(process_times(pid) for pid in softirqd), cpu_kernel_time(PLANE_CPU),
              resource.getrusage(resource.RUSAGE_CHILDREN))
    out = subprocess.run(["ip", "netns", "exec", lab.host, "iperf3", "-c", SERVICE, "-R", "-J", "-n", str(PLANE_BYTES),
                          "-A", f"{PLANE_CPU},{PLANE_CPU}"], capture_output=True, text=True)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    after = (process_times(server_pid), sum(process_times(pid) for pid in softirqd), cpu_kernel_time(PLANE_CPU))
    if out.returncode != 0:
        raise RuntimeError(f"iperf3 failed: {out.stderr.strip() or out.stdout[-500:]}")
    received = json.loads(out.stdout)["end"]["sum_received"]
    client = (children.ru_utime + children.ru_stime) - (before[3].ru_utime + before[3].ru_stime)
    return {"bytes": received["bytes"], "seconds": received["seconds"], "client": client,
            "server": after[0] - before[0], "ksoftirqd": after[1] - before[1], "cpu_kernel": after[2] - before[2]}


def per_gb(run, part):
    """CPU seconds a gigabyte (10^9 bytes): the path's (client + server + ksoftirqd) or the CPU's."""
    seconds = run["client"] + run["server"] + run["ksoftirqd"] if part == "path" else run[part]
    return seconds / (run["bytes"] / 1e9)


def measure(bench):
    """One lab per ruleset (none ever installed in the first), each with its own iperf3 server;
    every round downloads once through each, in a rotating order."""
    progress(f"case 3: data-plane cost, CPU time per GB: {PLANE_ROUNDS} rounds of {PLANE_BYTES / 2 ** 30:.0f} GiB "
             f"single-stream downloads per ruleset, pinned to CPU {PLANE_CPU}")
    result = {"rounds": [], "bytes": PLANE_BYTES, "cpu": PLANE_CPU}
    softirqd = ksoftirqd_pids()
    with contextlib.ExitStack() as stack:
        labs, servers = {}, {}
        for arm in PLANE_ARMS:
            lab = stack.enter_context(Lab(f"{PREFIX}-plane-{arm.split()[-1]}", uplinks=3, lan=False))
            if arm == "uplinkctl":
                bench.uplinkctl("apply", "--netns", lab.host, private_copy(os.path.join(ROOT, "examples/lab.yaml")))
            elif arm == "iptables recipe":
                install(bench, lab.host, arm, EQUAL["weights"])
            lab.start_iperf_server()
            labs[arm], servers[arm] = lab, lab.processes[-1].pid  # `ip netns exec` became iperf3
        for i in range(PLANE_ROUNDS):
            # Rotate the order, so that a drift in the machine's speed hits every ruleset alike.
            order = PLANE_ARMS[i % len(PLANE_ARMS):] + PLANE_ARMS[:i % len(PLANE_ARMS)]
            result["rounds"].append({arm: transfer(labs[arm], servers[arm], softirqd) for arm in order})
            progress(f"  round {i + 1:2d}: " + "; ".join(
                f"{arm} {per_gb(run, 'path') * 1000:.0f} ms/GB, {run['bytes'] * 8 / run['seconds'] / 1e9:.2f} Gbit/s"
                for arm, run in result["rounds"][-1].items()))
    return result
