"""Case 2, apply latency for 2, 8 and 32 uplinks: uplinkctl apply, its own dry-run iptables
script, nft -f + ip -batch + sysctl, and a re-apply with no change."""
import subprocess
import time

from .fanout import FanOut
from .harness import progress
from .methods import config_yaml
from .stats import spread

APPLY_SIZES = (2, 8, 32)
APPLY_RUNS = 5


# Measuring

def timed(*args):
    """Wall time in seconds of one process, from start to exit."""
    start = time.perf_counter()
    result = subprocess.run(args, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} exited {result.returncode}: {result.stderr.strip()}")
    return elapsed, result.stdout


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


def measure_size(bench, count):
    """APPLY_RUNS rounds, each timing every way from a fresh host."""
    times = {"apply": [], "iptables script": [], "nft -f + ip -batch": [], "re-apply": [],
             "ip netns exec (alone)": [], "uplinkctl check": []}
    config = bench.write(config_yaml(count), ".yaml")
    with FanOut(count) as fan:
        # The scripts are made for this host: the plan follows its addresses (the `from` rules).
        iptables_text = bench.uplinkctl("apply", "--dry-run", "--netns", fan.host, config)
        iptables_script = bench.write(iptables_text, ".sh")
        sysctls, ip_batch, nft_text = split_nft_dry_run(
            bench.uplinkctl("apply", "--dry-run", "--format", "nft", "--netns", fan.host, config))
        ip_file, nft_file = bench.write(ip_batch, ".ip"), bench.write(nft_text, ".nft")
        by_hand = f"sysctl -q -w {' '.join(sysctls)} && ip -batch {ip_file} && nft -f {nft_file}"
        for run in range(APPLY_RUNS):
            fan.check_fresh()
            times["apply"].append(timed(bench.binary, "apply", "--netns", fan.host, config)[0])
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
                diff = subprocess.run([bench.binary, "diff", "--netns", fan.host, config], capture_output=True,
                                      text=True)
                if diff.returncode != 0:
                    raise RuntimeError(f"nft -f + ip -batch did not build apply's state:\n{diff.stdout}{diff.stderr}")
            fan.reset()

            times["ip netns exec (alone)"].append(timed("ip", "netns", "exec", fan.host, "true")[0])
            times["uplinkctl check"].append(timed(bench.binary, "check", config)[0])
    commands = sum(1 for line in iptables_text.splitlines() if line.startswith("iptables "))
    return {"times": times, "iptables_commands": commands}


def measure(bench):
    result = {}
    for count in APPLY_SIZES:
        progress(f"case 2: apply latency, {count} uplinks, {APPLY_RUNS} runs")
        result[count] = measure_size(bench, count)
        for way, values in result[count]["times"].items():
            low, mid, high = spread(values)
            progress(f"  {way:28} {low * 1000:7.1f} {mid * 1000:7.1f} {high * 1000:7.1f} ms")
    return result
