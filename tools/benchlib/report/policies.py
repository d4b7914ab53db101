"""Case 6, policy entries: its section of docs/benchmarks.md, from what `policies.measure` returned."""
from ..aggregation import SECONDS
from ..dataplane import PLANE_CPU
from ..policies import (APPLY_RUNS, FLOWS, FLOW_ROUNDS, POLICY_COUNT, SMALL_COUNT, STREAM_ROUNDS, entry_rule,
                        entry_yaml, policy_entries)
from ..stats import median, spread
from ..targets import targets_line


def ratio(series, arm):
    return median(series[arm]) / median(series["no policies"])


def added_microseconds(flows, arm):
    """What an arm adds to each new connection, from the medians of the rates."""
    return 1e6 * (1 / median(flows[arm]) - 1 / median(flows["no policies"]))


def section(result):
    shape, flows, streams = result["shape"], result["flows"], result["stream"]
    full, chain = f"{POLICY_COUNT:,} policies", f"{POLICY_COUNT:,}-rule chain"
    small = f"{SMALL_COUNT} policies"
    sample = policy_entries(POLICY_COUNT)
    shapes = [sample[0], sample[POLICY_COUNT * 3 // 5 + 1], sample[-1]]
    md = ["## 6. 1,000 policy entries", "",
          f"`examples/lab.yaml` with {POLICY_COUNT:,} `policies:` entries added, in three runs of one shape "
          f"each: {POLICY_COUNT * 3 // 5} destinations (/26 prefixes and /32 hosts), {POLICY_COUNT // 5} "
          f"protocol and port range, {POLICY_COUNT - POLICY_COUNT * 3 // 5 - POLICY_COUNT // 5} destination, "
          f"protocol and port; for example " + ", ".join(f"`{entry_yaml(e)[4:]}`" for e in shapes)
          + ". The actions cycle through up1, up2, up3 and bypass. No entry matches the benchmark's "
          "traffic: the worst case, where every lookup misses and the connection is balanced after all. "
          "Arms, one lab each (as in section 3), set up once:", "",
          f"- **no policies**: `examples/lab.yaml` applied; {shape['no policies']['rules']} rules in the IPv4 "
          f"balance chain.",
          f"- **{full}**: the same with the {POLICY_COUNT:,} entries, applied by uplinkctl; the kernel held "
          f"{shape[full]['rules']} rules in the chain and {shape[full]['maps']} policy maps with "
          f"{shape[full]['elements']:,} elements (consecutive entries with the same keys are one map, one lookup).",
          f"- **{small}** (new connections only): {SMALL_COUNT} entries made the same way, "
          f"{shape[small]['maps']} maps with {shape[small]['elements']} elements: does the cost follow the "
          f"number of entries or the number of maps?",
          f"- **{chain}** (new connections only): no policies applied, then the same {POLICY_COUNT:,} entries "
          f"inserted by hand with `nft`, one plain rule each (`{entry_rule(shapes[0])}`, "
          f"`{entry_rule(shapes[1])}`, …), into uplinkctl's IPv4 balance chain before its slot lookup "
          f"({shape[chain]['rules']:,} rules): the same decisions, taken the way iptables-based tools (mwan3) "
          f"take them, one rule after another.", "",
          "Policies are looked up only for the first packet of a connection; later packets find their "
          f"uplink in the conntrack mark. So two measurements, each pinned to CPU {PLANE_CPU}, the arms "
          f"taking turns in each round in a rotating order:", "",
          f"- **one stream** (the cost of every later packet): one TCP stream downloaded with iperf3 "
          f"(`-R -P 1 -t {SECONDS} -O 1 -A {PLANE_CPU},{PLANE_CPU}`), {STREAM_ROUNDS} rounds.",
          f"- **new connections** (the cost of a first packet, where the lookups happen): {FLOWS:,} UDP "
          f"datagrams sent by the host from one socket, each to its own destination port of the server, so "
          f"that each is a new connection, balanced, masqueraded and routed by its uplink. The sender "
          f"(Python, `nice -n -20 taskset -c {PLANE_CPU}`) times its loop in CPU time (user + system: the "
          f"packets' whole way through the namespaces runs inside its `sendto` calls), so that other load "
          f"on the machine counts less; the rate is datagrams ÷ that time. The host's conntrack table is "
          f"emptied before each round, and a round counts only if the server received every datagram. "
          f"{FLOW_ROUNDS} rounds. A new connection costs the whole lab a few microseconds, so the ratio "
          f"shows what the lookups cost relative to all that; the added microseconds per connection say it "
          f"absolutely.", "",
          "| measurement | arm | min | median | max | median ÷ no policies | added per new connection |",
          "|---|---|---|---|---|---|---|"]
    for arm, values in streams.items():
        low, mid, high = spread(values)
        md.append(f"| one stream | {arm} | {low:.2f} Gbit/s | {mid:.2f} Gbit/s | {high:.2f} Gbit/s | "
                  f"{100 * ratio(streams, arm):.1f}% | |")
    for arm, values in flows.items():
        low, mid, high = (v / 1000 for v in spread(values))
        md.append(f"| new connections | {arm} | {low:.1f} k/s | {mid:.1f} k/s | {high:.1f} k/s | "
                  f"{100 * ratio(flows, arm):.1f}% | {added_microseconds(flows, arm):+.2f} µs |")
    per_packet, per_connection = ratio(streams, full), ratio(flows, full)
    added, added_small, added_chain = (added_microseconds(flows, arm) for arm in (full, small, chain))
    md += ["", targets_line([
        (f"cost per packet with {POLICY_COUNT:,} entries within 5% of none, one stream (ratio of medians "
         f"{100 * per_packet:.1f}%)", per_packet >= 0.95),
        (f"the same for new connections, where the entries are looked up ({100 * per_connection:.1f}%)",
         per_connection >= 0.95)]), "",
        f"uplinkctl's {shape[full]['maps']} lookups add {added:.2f} µs to a new connection with "
        f"{POLICY_COUNT:,} entries and {added_small:.2f} µs with {SMALL_COUNT}"
        + (f" ({added / added_small:.1f}× for {POLICY_COUNT // SMALL_COUNT}× the entries)" if added_small > 0 else "")
        + f". The plain chain of {POLICY_COUNT:,} rules adds {added_chain:.2f} µs "
        f"({1000 * added_chain / POLICY_COUNT:.1f} ns per rule walked) and keeps "
        f"{100 * ratio(flows, chain):.1f}% of the new-connection rate. Later packets of a connection do not "
        f"reach the policies at all, whichever way they are written.", "",
        "Every run: " + "; ".join(f"one stream, {arm}: " + ", ".join(f"{v:.2f}" for v in values) + " Gbit/s"
                                  for arm, values in streams.items())
        + "; " + "; ".join(f"new connections, {arm}: " + ", ".join(f"{v / 1000:.1f}" for v in values) + " k/s"
                           for arm, values in flows.items()) + ".", ""]
    return md + noise_note(streams, flows, full) + apply_section(result["apply"])


def noise_note(streams, flows, full):
    """Whether the difference between the medians stands out of the run-to-run spread: it does
    when every run of one arm is faster than every run of the other."""
    notes = []
    for name, series, scale, unit in (("one stream", streams, 1, "Gbit/s"), ("new connections", flows, 1000, "k/s")):
        none, many = series["no policies"], series[full]
        apart = min(none) > max(many) or min(many) > max(none)
        notes.append(f"{name}: without policies {min(none) / scale:.1f} to {max(none) / scale:.1f} {unit}, with "
                     f"{POLICY_COUNT:,} {min(many) / scale:.1f} to {max(many) / scale:.1f}: "
                     + ("the runs do not overlap, so the difference is real" if apart
                        else "the runs overlap, so the difference between the medians is within this "
                             "machine's noise"))
    return ["Run to run: " + "; ".join(notes) + ".", ""]


def apply_section(times):
    ways = list(times[0])
    md = [f"### Apply time with {POLICY_COUNT:,} entries", "",
          f"On a bare host with three uplinks (as in section 2), {APPLY_RUNS} rounds, each with both "
          f"configs in turn: `uplinkctl check` (reading and checking the config, and reading the ip rules), `apply` "
          f"on a "
          f"fresh host, `apply` again with no change (it answers \"nothing changed\"), `diff` (nothing to "
          f"change), then `flush`, after which the host must be fresh. Wall time of the process, "
          f"min / **median** / max in milliseconds.", "",
          "| policies | " + " | ".join(ways) + " |", "|---" * (len(ways) + 1) + "|"]
    for count, series in times.items():
        cells = []
        for way in ways:
            low, mid, high = (v * 1000 for v in spread(series[way]))
            cells.append(f"{low:.1f} / **{mid:.1f}** / {high:.1f}")
        md.append(f"| {count:,} | " + " | ".join(cells) + " |")
    full, none = times[POLICY_COUNT], times[0]

    def added(way):
        return 1000 * (median(full[way]) - median(none[way]))
    md += ["", f"The {POLICY_COUNT:,} entries add {added('apply'):.1f} ms to a fresh apply, "
           f"{added('re-apply'):.1f} ms to a re-apply and {added('diff'):.1f} ms to a diff; reading and "
           f"checking the config alone accounts for {added('check'):.1f} ms of each.", ""]
    return md
