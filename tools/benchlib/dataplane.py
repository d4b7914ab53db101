"""Case 3, data-plane cost: what a ruleset adds to the CPU time of moving data through the host,
with no ruleset, uplinkctl's, and the seed's recipe's. Each round downloads a fixed amount over one
TCP stream (iperf3 -n) with both ends pinned to one CPU, so that the whole path runs there, and
takes the CPU time it cost: both iperf3 processes' (started for the one download each, so that
the kernel's exact figure for a reaped child counts them) and the softirq threads', per process so
that what else runs on this shared machine does not count; and, as a second witness, that CPU's
system + irq + softirq time from /proc/stat (which does count it). Many short rounds, the rulesets
in a rotating order within each, so that a drift of the machine hits all alike; the report gives
each ratio to "none" with a bootstrap confidence interval over the rounds."""
import contextlib
import json
import os
import subprocess

from ..lab import SERVICE, Lab, private_copy

from .aggregation import EQUAL
from .cputime import children_times, cpu_kernel_time, ksoftirqd_pids, thread_runtime
from .harness import PREFIX, ROOT, progress
from .methods import install

PLANE_ARMS = ("none", "uplinkctl", "iptables recipe")
PLANE_ROUNDS = 30
PLANE_BYTES = 1 << 30  # one GiB a round
PLANE_CPU = os.cpu_count() - 1
PORT = 5201


def transfer(lab, softirqd):
    """One download of PLANE_BYTES from a one-off iperf3 server: bytes, seconds, CPU seconds."""
    lab.start_server(["nice", "-n", "-20", "iperf3", "-s", "-1", "-B", SERVICE, "-p", str(PORT)], PORT, "iperf3 server")
    server = lab.processes.pop()
    before = (children_times(), sum(thread_runtime(pid) for pid in softirqd), cpu_kernel_time(PLANE_CPU))
    out = subprocess.run(["ip", "netns", "exec", lab.host, "nice", "-n", "-20", "iperf3", "-c", SERVICE,
                          "-p", str(PORT), "-R", "-J", "-n", str(PLANE_BYTES), "-A", f"{PLANE_CPU},{PLANE_CPU}"],
                         capture_output=True, text=True)
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()
        raise RuntimeError(f"the iperf3 server did not end after its download: {out.stderr.strip()}")
    after = (children_times(), sum(thread_runtime(pid) for pid in softirqd), cpu_kernel_time(PLANE_CPU))
    if out.returncode != 0:
        raise RuntimeError(f"iperf3 failed: {out.stderr.strip() or out.stdout[-500:]}")
    received = json.loads(out.stdout)["end"]["sum_received"]
    return {"bytes": received["bytes"], "seconds": received["seconds"], "iperf3": after[0] - before[0],
            "ksoftirqd": after[1] - before[1], "cpu_kernel": after[2] - before[2]}


def per_gb(run, part):
    """CPU seconds a gigabyte (10^9 bytes): the path's (both iperf3 + ksoftirqd) or the CPU's."""
    seconds = run["iperf3"] + run["ksoftirqd"] if part == "path" else run[part]
    return seconds / (run["bytes"] / 1e9)


def measure(bench):
    """One lab per ruleset (none ever installed in the first); every round downloads once through
    each, in a rotating order."""
    progress(f"case 3: data-plane cost, CPU time per GB: {PLANE_ROUNDS} rounds of {PLANE_BYTES / 2 ** 30:.0f} GiB "
             f"single-stream downloads per ruleset, pinned to CPU {PLANE_CPU}")
    result = {"rounds": [], "bytes": PLANE_BYTES, "cpu": PLANE_CPU}
    softirqd = ksoftirqd_pids()
    with contextlib.ExitStack() as stack:
        labs = {}
        for arm in PLANE_ARMS:
            lab = stack.enter_context(Lab(f"{PREFIX}-plane-{arm.split()[-1]}", uplinks=3, lan=False))
            if arm == "uplinkctl":
                bench.uplinkctl("apply", "--netns", lab.host, private_copy(os.path.join(ROOT, "examples/lab.yaml")))
            elif arm == "iptables recipe":
                install(bench, lab.host, arm, EQUAL["weights"])
            labs[arm] = lab
        for i in range(PLANE_ROUNDS):
            # Rotate the order, so that a drift in the machine's speed hits every ruleset alike.
            order = PLANE_ARMS[i % len(PLANE_ARMS):] + PLANE_ARMS[:i % len(PLANE_ARMS)]
            result["rounds"].append({arm: transfer(labs[arm], softirqd) for arm in order})
            progress(f"  round {i + 1:2d}: " + "; ".join(
                f"{arm} {per_gb(run, 'path') * 1000:.0f} ms/GB, {run['bytes'] * 8 / run['seconds'] / 1e9:.2f} Gbit/s"
                for arm, run in result["rounds"][-1].items()))
    return result
