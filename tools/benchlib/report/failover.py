"""Case 8, failover: its section of docs/benchmarks.md, from what `failover.measure` returned."""
from ..failover import (ARMS, BEFORE, CONNECT_TIMEOUT, CPU_SECONDS, CPU_UPLINKS, DOWNLOADS, EVENTS, EVENT_NAMES,
                        INTERVAL_MS, LOSS_SECONDS, REPAIR_AFTER, TRIALS)
from ..stats import median, percentile
from ..targets import targets_line


def section(result):
    trials, loss, cpu = result["trials"], result["loss"], result["cpu"]
    md = ["## 8. Failover", "",
          f"A lab of three uplinks shaped to 20 Mbit/s, the echo server behind them. In each trial {DOWNLOADS} "
          f"one-connection downloads run from the LAN client (so every uplink carries some), and the LAN client opens "
          f"a new TCP "
          f"connection to the echo server every {INTERVAL_MS} ms (each in its own thread, {CONNECT_TIMEOUT:.0f} s to "
          f"be "
          f"answered; the answer names the gateway it came through). {BEFORE} s in, uplink 2 fails: **carrier lost** "
          f"(the "
          f"far end of its link set down) or **gateway stops forwarding** (the link stays up); {REPAIR_AFTER} s later "
          f"it "
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
    healthy_min = min(r["healthy_after"] / r["healthy_before"]
                      for kind in EVENTS for r in ours[kind] if r["healthy_before"])
    md += ["", targets_line([
        (f"carrier loss: no new connection fails that started more than 50 ms after it (max {carrier_max:.0f} ms)",
         carrier_max <= 50),
        (f"silent gateway: none that started more than 1 s after it (max {silent_max:.0f} ms)", silent_max <= 1000),
        (f"back into the cycle within 2 s of the gateway's return (max {recovery_max:.0f} ms)", recovery_max <= 2000),
        (f"the healthy uplinks keep carrying their downloads (at least 90% of their bytes, "
         f"min {100 * healthy_min:.0f}%)",
         healthy_min >= 0.9),
        (f"no transition in {LOSS_SECONDS} s of 10% random loss ({loss['transitions']})", loss["transitions"] == 0),
        (f"run under 1% of one core with {CPU_UPLINKS} uplinks probed ({cpu['cpu'] * 100:.2f}%)", cpu["cpu"] < 0.01),
    ]), "",
        f"The loss: an nft rule in gateway 2's namespace drops one forwarded packet in ten at random "
        f"(`numgen random mod 10 0 drop`, both ways: {loss['dropped']} packets dropped in {LOSS_SECONDS} s); "
        f"`uplinkctl run` logged {loss['transitions']} transitions.", "",
        f"`uplinkctl run` with {CPU_UPLINKS} uplinks, each probing its own gateway at the defaults, for {CPU_SECONDS} "
        f"s: "
        f"{cpu['cpu'] * 100:.2f}% of one core; resident memory {cpu['rss_start']} kB at the start, {cpu['rss_end']} "
        f"kB at "
        f"the end; {cpu['fds_start']} file descriptors at the start, {cpu['fds_end']} at the end.", "",
        "![Case 8: what each uplink carried around the failure and the repair](failover.svg)", ""]
    return md
