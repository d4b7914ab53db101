"""Case 2, apply latency for 2, 8 and 32 uplinks: uplinkctl apply, its own dry-run iptables
script, nft -f + ip -batch + sysctl, and a re-apply with no change."""
import subprocess
import time

from .fanout import FanOut
from .harness import progress
from .methods import config_yaml
from .stats import medians, spread
from .targets import targets_line

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
                diff = subprocess.run([bench.binary, "diff", "--netns", fan.host, config], capture_output=True, text=True)
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


# Writing up

def section(result, binary):
    """binary: the measured binary's path as the report shows it."""
    md = ["## 2. Apply latency", "",
          f"A host namespace with N veth uplinks to one peer namespace (the gateways are on-link); the "
          f"config is generated (`balance: nth`, N uplinks up1…upN, traffic local and forwarded). Each "
          f"time is the wall time of the process, from start to exit (time.perf_counter around it), "
          f"{APPLY_RUNS} runs; min / median / max in milliseconds. Between fresh runs the host is put "
          f"back (uplinkctl flush, or nft flush ruleset + the rules and routes + the sysctls) and "
          f"checked to be fresh.", "",
          "- **apply**: `uplinkctl apply --netns HOST CONFIG` on a fresh host.",
          "- **iptables script**: the dry-run in its default form, `uplinkctl apply --dry-run --netns HOST CONFIG` (for that host's addresses), "
          "generated beforehand and run as `ip netns exec HOST sh SCRIPT` (the generation is not counted). "
          "`iptables` here is iptables-nft (see the machine section): each command is one nft transaction.",
          "- **nft -f + ip -batch**: from `--dry-run --format nft`: its sysctls as one `sysctl -w`, its "
          "`ip route`/`ip rule` lines (without the leading `ip`) as one `ip -batch`, and the table text "
          "between the heredoc markers as one `nft -f`, in one `ip netns exec HOST sh -c '…'`. Checked "
          "once per size: `uplinkctl diff` finds nothing to change afterwards, so it is the same state.",
          "- **re-apply**: `uplinkctl apply` again right after an apply, with no change (it answers "
          "\"nothing changed\").",
          "- For reference: `ip netns exec HOST true` (the part of both scripts' times that is only "
          "entering the namespace) and `uplinkctl check CONFIG` (starting uplinkctl, reading the "
          "config, and reading the host's ip rules, which check reports on).", ""]
    ways = list(next(iter(result.values()))["times"])
    md += ["| uplinks | " + " | ".join(ways) + " |", "|---" * (len(ways) + 1) + "|"]
    for count, data in result.items():
        cells = []
        for way in ways:
            low, mid, high = (v * 1000 for v in spread(data["times"][way]))
            cells.append(f"{low:.1f} / **{mid:.1f}** / {high:.1f}")
        md.append(f"| {count} | " + " | ".join(cells) + " |")
    med = {count: medians(data["times"]) for count, data in result.items()}
    md += ["", "Ratios of medians (targets in bold):", "",
           "| uplinks | iptables commands | apply ÷ (nft -f + ip -batch), **≤ 1** | iptables script ÷ apply, **≥ 10 at 32** | re-apply ÷ apply, **well under 1** |",
           "|---|---|---|---|---|"]
    for count, data in result.items():
        m = med[count]
        md.append(f"| {count} | {data['iptables_commands']} | {m['apply'] / m['nft -f + ip -batch']:.2f} | "
                  f"{m['iptables script'] / m['apply']:.1f} | {m['re-apply'] / m['apply']:.2f} |")
    largest = max(result)
    top = med[largest]
    verdicts = [
        ("apply no slower than nft -f + ip -batch", all(m["apply"] <= m["nft -f + ip -batch"] for m in med.values())),
        (f"at least 10× faster than the iptables script at {largest}", top["iptables script"] >= 10 * top["apply"]),
        ("no-change re-apply well under a fresh apply (≤ half)", all(m["re-apply"] <= 0.5 * m["apply"] for m in med.values())),
    ]
    start = top["uplinkctl check"]
    md += ["", targets_line(verdicts),
           "", f"The binary measured is the one `make bench` builds (`{binary}`). Starting uplinkctl, "
           f"reading the config and the ip rules (the `check` column) takes {start * 1000:.1f} ms of the {top['apply'] * 1000:.1f} ms "
           f"of an apply at {largest} uplinks and of the {top['re-apply'] * 1000:.1f} ms of a re-apply; the "
           f"rest, {(top['apply'] - start) * 1000:.1f} ms and {(top['re-apply'] - start) * 1000:.1f} ms, is "
           f"reading the kernel's state, planning and writing the changes. `nft -f` + `ip -batch` take "
           f"{top['nft -f + ip -batch'] * 1000:.1f} ms for the same state, including "
           f"{top['ip netns exec (alone)'] * 1000:.1f} ms of `ip netns exec`.", ""]
    return md
