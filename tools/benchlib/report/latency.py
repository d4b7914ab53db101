"""Case 2, apply latency: its section of docs/benchmarks.md, from what `latency.measure` returned."""
from ..latency import APPLY_RUNS
from ..stats import medians, spread
from ..targets import targets_line


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
          "- **iptables script**: the dry-run in its default form, `uplinkctl apply --dry-run --netns HOST CONFIG` "
          "(for that host's addresses), "
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
           "| uplinks | iptables commands | apply ÷ (nft -f + ip -batch), **≤ 1** | iptables script ÷ apply, **≥ 10 "
           "at 32** | re-apply ÷ apply, **well under 1** |",
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
        ("no-change re-apply well under a fresh apply (≤ half)",
         all(m["re-apply"] <= 0.5 * m["apply"] for m in med.values())),
    ]
    start = top["uplinkctl check"]
    md += ["", targets_line(verdicts),
           "", f"The binary measured is the one `make bench` builds (`{binary}`). Starting uplinkctl, "
           f"reading the config and the ip rules (the `check` column) takes {start * 1000:.1f} ms of the "
           f"{top['apply'] * 1000:.1f} ms "
           f"of an apply at {largest} uplinks and of the {top['re-apply'] * 1000:.1f} ms of a re-apply; the "
           f"rest, {(top['apply'] - start) * 1000:.1f} ms and {(top['re-apply'] - start) * 1000:.1f} ms, is "
           f"reading the kernel's state, planning and writing the changes. `nft -f` + `ip -batch` take "
           f"{top['nft -f + ip -batch'] * 1000:.1f} ms for the same state, including "
           f"{top['ip netns exec (alone)'] * 1000:.1f} ms of `ip netns exec`.", ""]
    return md
