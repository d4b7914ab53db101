"""Case 9, services: its section of docs/benchmarks.md, from what `services.measure` returned."""
import math
import os

from ..dataplane import PLANE_CPU
from ..services import (ARMS, BACKENDS, BALANCER_BACK, CLIENT, DEAD, FAILOVER_LOAD, FAILOVER_SECONDS, FAILOVER_TRIALS,
                        HASH_CLIENTS, HASH_PER_CLIENT, HASH_PORT, HELD, KILL_AT, LATE, NAMES, NTH_CONNECTIONS, PORT,
                        RANDOM_CONNECTIONS, RATE_ROUNDS, RATE_SECONDS, SERVICE, STREAM_OMIT, STREAM_ROUNDS,
                        STREAM_SECONDS, WEIGHTED_PORT, WEIGHTS, WORKERS, per_connection)
from ..stats import median, spread
from ..targets import targets_line


def ratio(series, arm, base="direct"):
    return median(series[arm]) / median(series[base])


def counts_text(counts):
    return " / ".join(str(c) for c in counts)


def even_deviation(counts, weights):
    """The largest |count − expected| over the backends, as % of the expected count."""
    total, weight = sum(counts), sum(weights)
    return max(100 * abs(c - total * w / weight) / (total * w / weight) for c, w in zip(counts, weights))


def section(result):
    rates = {kind: {arm: [r["rate"] for r in runs] for arm, runs in series.items()}
             for kind, series in result["rates"].items()}
    pinned = result["rates"]["pinned"]
    cpu = {arm: [per_connection(r) for r in runs] for arm, runs in pinned.items()}
    streams, spread_result, trials = result["streams"], result["spread"], result["failover"]
    md = ["## 9. Services", "",
          "Incoming connections for one address and port spread over three backends (`services:`), against the ways "
          "they are spread without uplinkctl. One lab per arm, all alike and set up once: a client namespace "
          f"({CLIENT}), the balancer ({SERVICE}, the service's address, towards the client; {BALANCER_BACK} towards "
          f"the backends) and one namespace with the three backends b1, b2, b3 ({', '.join(BACKENDS)}), each its own "
          "server process; the balancer also has the one uplink a config needs, to a gateway namespace that carries "
          "nothing. No shaping. Client and servers are `svcbench` (tools/programs/svcbench.c, built with `cc -O2` "
          "by the case): a backend is one thread with epoll, answers a line with its name and closes the connection "
          "itself (so the TIME_WAIT stays with the server and the client never runs out of ports); the client opens "
          "connections from threads, connect, a line, the answer to the end, close, and counts the answers by name. "
          "In C, so that neither end is what limits the balancer: the direct arm below sends every connection to one "
          "backend process, and that is the fastest arm. The arms:", "",
          f"- **direct**: the client connects to b1 ({BACKENDS[0]}:{PORT}) itself; the balancer only routes it (no "
          "ruleset, so no conntrack in its namespace). What a connection costs the lab without any balancing: "
          "the baseline.",
          f"- **uplinkctl**: `uplinkctl apply --netns` of a config whose service for the load is "
          f"`{{name: rate, port: {PORT}, address: {SERVICE}, "
          f"backends: [{', '.join(f'{a}:{PORT}' for a in BACKENDS)}]}}` "
          f"(nth; masqueraded toward the backends by default), with more services for the spread below "
          f"(ports {WEIGHTED_PORT} to {HASH_PORT}, each to the same port of the backends) and one uplink.",
          f"- **iptables recipe**: seed 001's commands, per backend k of n: `iptables -t nat -A PREROUTING -d "
          f"{SERVICE} "
          f"-p tcp --dport {PORT} -m statistic --mode nth --every n−k --packet 0 -j DNAT --to-destination B:{PORT}` "
          f"(cascaded: --every 3, 2, 1) and `iptables -t nat -A POSTROUTING -d B -p tcp --dport {PORT} -j SNAT "
          f"--to-source {SERVICE}`, with ip_forward.",
          f"- **HAProxy**: {result['haproxy'].split(' - ')[0]} (Debian's `haproxy`), the usual userspace answer: "
          f"`mode tcp`, `balance roundrobin`, the three servers without `check` (as `apply`, nothing watches "
          f"them), otherwise its defaults (one thread per CPU).", ""]
    md += rate_part(result, rates) + cpu_part(pinned, cpu) + stream_part(streams)
    md += spread_part(spread_result) + failover_part(result, trials)
    nth_ok = spread_ok(spread_result["nth"]["uplinkctl"]) and spread_ok(spread_result["weighted"])
    random_dev = even_deviation(spread_result["random"]["counts"], [1] * len(BACKENDS))
    sticky = all(len(seen) == 1 and seen[0] != "failed" for seen in spread_result["hash"].values())
    rate_ratio, over_haproxy = ratio(rates["pinned"], "uplinkctl"), ratio(rates["pinned"], "uplinkctl", "HAProxy")
    stream_ratio = ratio(streams, "uplinkctl")
    worst = max(t["changed"] if t["changed"] is not None else math.inf for t in trials)
    logged = max(t["logged"] if t["logged"] is not None else math.inf for t in trials)
    stale, other = sum(t["stale"] for t in trials), sum(t["other"] for t in trials)
    dropped = sum(t["held_live"] - t["held_kept"] for t in trials)
    md += [targets_line([
        (f"nth exact per cycle, 1:1:1 and {':'.join(map(str, WEIGHTS))} (every window of W consecutive connections "
         f"meets each backend its weight's number of times)", nth_ok),
        (f"random within 3% over {RANDOM_CONNECTIONS:,} connections (max deviation {random_dev:.2f}%)",
         random_dev <= 3),
        (f"hash sticky (each of {len(HASH_CLIENTS)} clients met one backend)", sticky),
        (f"new connections per second through uplinkctl at least 95% of direct, pinned ({100 * rate_ratio:.1f}%; "
         f"free {100 * ratio(rates['free'], 'uplinkctl'):.1f}%)", rate_ratio >= 0.95),
        (f"ahead of HAProxy, pinned ({over_haproxy:.2f}× its rate, "
         f"free {ratio(rates['free'], 'uplinkctl', 'HAProxy'):.2f}×; "
         f"CPU per connection {median(cpu['uplinkctl']):.1f} µs against {median(cpu['HAProxy']):.1f} µs)",
         over_haproxy > 1),
        (f"one-stream throughput at least 95% of direct ({100 * stream_ratio:.1f}%)", stream_ratio >= 0.95),
        (f"a dead backend out of the map within 1 s with `run` (at most {worst * 1000:.0f} ms after the kill; the "
         f"log line at most {logged * 1000:.0f} ms)", worst <= 1),
        (f"no connection to the other backends lost (new connections that met the dead backend after the change: "
         f"{stale}; failed otherwise: {other}; held connections to the others dropped: {dropped})",
         stale + other + dropped == 0)]), ""]
    return md


def rate_part(result, rates):
    md = ["### New connections per second", "",
          f"{WORKERS} client threads open short connections as fast as they can for {RATE_SECONDS} s; the rate counts "
          "answered connections. The balancer's conntrack table is emptied before each run; the arms take turns in "
          "each round, in a rotating order.", "",
          f"- **pinned** ({RATE_ROUNDS['pinned']} rounds): the client, the backends' servers and HAProxy (every "
          f"thread) on CPU {PLANE_CPU}. A veth hands a packet to the next namespace on the same CPU, so the whole "
          "path runs there, the rate follows what a connection costs, and the other core is left to the rest of "
          "the machine; **the targets are judged on this one**.",
          f"- **free** ({RATE_ROUNDS['free']} rounds): wherever the scheduler puts them, as a user would run it; on "
          f"this {os.cpu_count()}-core machine everything shares both cores.", "",
          "The spread is the answers' backend names, summed over the runs, and their largest deviation from an even "
          "share.", "",
          "| runs | arm | min | median | max | median ÷ direct | answers per backend (b1 / b2 / b3) | deviation from "
          "even "
          "| failed |", "|---|---|---|---|---|---|---|---|---|"]
    for kind, series in rates.items():
        for arm in ARMS:
            low, mid, high = (v / 1000 for v in spread(series[arm]))
            runs = result["rates"][kind][arm]
            counts = [sum(r["backends"].get(name, 0) for r in runs) for name in NAMES]
            deviation = "(one backend)" if arm == "direct" else f"{even_deviation(counts, [1] * len(BACKENDS)):.3f}%"
            md.append(f"| {kind} | {arm} | {low:.1f} k/s | {mid:.1f} k/s | {high:.1f} k/s | "
                      f"{100 * ratio(series, arm):.1f}% | "
                      f"{counts_text(counts)} | {deviation} | {sum(r['failed'] for r in runs)} |")
    pinned = rates["pinned"]
    apart = min(pinned["direct"]) > max(pinned["uplinkctl"]) or min(pinned["uplinkctl"]) > max(pinned["direct"])
    md += ["", "Every run (k/s): " + "; ".join(f"{kind} {arm} " + ", ".join(f"{v / 1000:.1f}" for v in series[arm])
                                            for kind, series in rates.items() for arm in ARMS) + ".", "",
           f"Pinned, uplinkctl keeps {100 * ratio(pinned, 'uplinkctl'):.1f}% of direct (the runs of the two "
           + ("do not overlap" if apart else "overlap")
           + f"), the recipe {100 * ratio(pinned, 'iptables recipe'):.1f}% "
           f"and HAProxy {100 * ratio(pinned, 'HAProxy'):.1f}%; uplinkctl makes "
           f"{ratio(pinned, 'uplinkctl', 'HAProxy'):.2f}× HAProxy's rate.", ""]
    return md


def cpu_part(pinned, cpu):
    own = [per_connection(r, "haproxy") for r in pinned["HAProxy"]]
    others = [(r["cpu"]["machine"] - r["cpu"]["path"]) / r["seconds"] for runs in pinned.values() for r in runs]
    steal = [r["cpu"]["steal"] / r["seconds"] for runs in pinned.values() for r in runs]
    direct = median(cpu["direct"])
    md = ["### CPU per connection", "",
          "From the pinned runs: the CPU time (user + system) of every process on the path, that is the client (its "
          "rusage), the three backends' server processes and HAProxy (/proc/PID/stat), plus the kernel's ksoftirqd "
          "threads, divided by the answered connections. The balancer's kernel work (routing, conntrack, NAT) runs "
          "in softirq inside those processes' system calls, so it is in those figures; other processes on the "
          "machine are not ("
          + (f"the machine's busy time in /proc/stat, sampled at each timer tick, was {100 * median(others):.0f}% of a "
             "core above the path's, median, during these runs"
             if median(others) >= 0.05 else "the machine's busy time in /proc/stat was within 5% of a core of the "
             "path's, median, during these runs")
          + f"; the hypervisor's steal time was {100 * median(steal):.1f}% of a core, median, at most "
          f"{100 * max(steal):.1f}%). What the balancer costs a connection is the difference from direct; HAProxy's "
          f"own process is shown "
          "apart.", "",
          "| arm | CPU per connection, min / median / max | added over direct (medians) | HAProxy's process, median |",
          "|---|---|---|---|"]
    for arm in ARMS:
        low, mid, high = spread(cpu[arm])
        extra = "" if arm == "direct" else f"{mid - direct:+.1f} µs"
        md.append(f"| {arm} | {low:.1f} / {mid:.1f} / {high:.1f} µs | {extra} | "
                  + (f"{median(own):.1f} µs" if arm == "HAProxy" else "") + " |")
    md += ["", f"uplinkctl adds {median(cpu['uplinkctl']) - direct:.1f} µs to a connection, the recipe "
           f"{median(cpu['iptables recipe']) - direct:.1f} µs and HAProxy {median(cpu['HAProxy']) - direct:.1f} µs, "
           f"{median(own):.1f} µs of it in its own process (two sockets per connection, the data copied through user "
           "space).", ""]
    return md


def stream_part(streams):
    md = ["### One stream", "",
          f"One TCP connection downloads zeros from a backend's stream server for {STREAM_SECONDS} s, the first "
          f"{STREAM_OMIT} s not counted ({STREAM_ROUNDS} rounds, rotating). The sink, the stream servers and HAProxy "
          f"(all its threads) run on CPU {PLANE_CPU}, as section 3 pins iperf3: the whole path then runs there and the "
          "throughput follows its cost per packet.", "",
          "| arm | min | median | max | median ÷ direct |", "|---|---|---|---|---|"]
    for arm in ARMS:
        low, mid, high = spread(streams[arm])
        md.append(f"| {arm} | {low:.2f} Gbit/s | {mid:.2f} Gbit/s | {high:.2f} Gbit/s | "
                  f"{100 * ratio(streams, arm):.1f}% |")
    md += ["", "Every run (Gbit/s): "
           + "; ".join(f"{arm} " + ", ".join(f"{v:.2f}" for v in streams[arm]) for arm in ARMS)
           + ".", ""]
    return md


def spread_ok(row):
    return row["windows_good"] == row["windows"] and row["answered"] == row["n"]


def spread_part(result):
    counters = result["counters"]
    md = ["### Spread over the backends", "",
          f"nth: {NTH_CONNECTIONS:,} connections one after another from one client thread, so that the answers are "
          "in the order the balancer saw the connections; every window of W consecutive connections (W = the sum of "
          f"the weights), wherever it starts, must meet each backend exactly its weight. random: "
          f"{RANDOM_CONNECTIONS:,} "
          f"connections from {WORKERS} threads. hash: {HASH_PER_CLIENT} connections from each of {len(HASH_CLIENTS)} "
          f"client addresses ({HASH_CLIENTS[0]} to {HASH_CLIENTS[-1]}), in turn. uplinkctl's counters (`status "
          "--json`, each backend's `connections`) are shown beside the answers.", "",
          "| balancer | mode | connections | answers per backend | check | uplinkctl's counters |",
          "|---|---|---|---|---|---|"]
    for arm, row in result["nth"].items():
        mode = "nth 1:1:1" if arm != "HAProxy" else "roundrobin"
        md.append(f"| {arm} | {mode} | {row['n']:,} | {counts_text(row['counts'])} | {nth_check(row)} | "
                  + (counts_text(counters["rate"]) if arm == "uplinkctl" else "") + " |")
    row = result["weighted"]
    md.append(f"| uplinkctl | nth {':'.join(map(str, WEIGHTS))} | {row['n']:,} | {counts_text(row['counts'])} | "
              f"{nth_check(row)} | {counts_text(counters['weighted'])} |")
    random_row = result["random"]
    md.append(f"| uplinkctl | random 1:1:1 | {random_row['n']:,} | {counts_text(random_row['counts'])} | "
              "largest deviation "
              f"{even_deviation(random_row['counts'], [1] * len(BACKENDS)):.2f}% of the expected "
              f"{random_row['n'] / len(BACKENDS):.0f}; {random_row['failed']} failed | "
              f"{counts_text(counters['random'])} |")
    seen = result["hash"]
    met = sorted({b for backends in seen.values() for b in backends})
    one = sum(1 for backends in seen.values() if len(backends) == 1 and backends[0] != "failed")
    md.append(f"| uplinkctl | hash | {HASH_PER_CLIENT * len(HASH_CLIENTS)} | "
              + ", ".join(f"{client.rsplit('.', 1)[1]}→{'+'.join(b)}" for client, b in seen.items())
              + f" | {one} of {len(seen)} clients always met the same backend; together they met {', '.join(met)} | "
              f"{counts_text(counters['sticky'])} |")
    n, p = RANDOM_CONNECTIONS, 1 / len(BACKENDS)
    sigma = (n * p * (1 - p)) ** 0.5
    within = math.erf(0.03 * n * p / sigma / 2 ** 0.5) ** len(BACKENDS)
    md += ["", f"random is chance: each backend's count varies by σ = √(N·p·(1−p)) = {sigma:.0f} connections "
           f"({100 * sigma / (n * p):.1f}% of {n * p:.0f}), so all three land within 3% in about {100 * within:.0f}% "
           f"of "
           f"runs. hash: the client's address and the service's, hashed (nft `jhash`), so a client keeps its backend "
           f"for as long as the backends do not change.", ""]
    return md


def nth_check(row):
    first = " ".join(NAMES[b] for b in row["first"])
    return (f"{row['windows_good']:,} of {row['windows']:,} windows exact; {row['answered']:,} answered; "
            f"first cycle {first}; no backend ever more than {row['prefix_dev']:.2f} from its share")


def failover_part(result, trials):
    md = ["### A backend dies under load, with `uplinkctl run`", "",
          f"In the uplinkctl lab, `uplinkctl run --netns` with the same config; only the load's service is checked "
          f"(the default: a TCP connect to each backend every 150 ms, out after 4 lost rounds). {FAILOVER_TRIALS} "
          f"trials. Each: {HELD} connections opened and held (they meet the backends in turn), then new connections "
          f"at {result['failover_rate'] / 1000:.1f} k/s ({100 * FAILOVER_LOAD:.0f}% of uplinkctl's free median rate "
          f"above, "
          f"{WORKERS} threads) for {FAILOVER_SECONDS:.0f} s; {KILL_AT:.0f} s in, b2's server is killed (SIGKILL: its "
          "port refuses from then on, and what it had accepted is reset). Measured from the kill: when the map "
          "changed (`nft monitor` in the balancer, the first event of the service's slot map), when run's log line "
          f"(`backend rate-2 {BACKENDS[DEAD]}:{PORT} down: …`) appeared (the harness reads the log every 5 ms), and "
          "when the last new connection that b2 refused or reset started. Until the map changes (and 50 ms more for "
          "what was on its way), b2's share of new connections meets it; after that none should: one that does, or "
          "a failure of any other kind, is lost. When the load ends, the balancer's conntrack entries still "
          "translated to b2 are counted, and the held connections are asked again: those to b1 and b3 must answer "
          "as before. b2's server is restarted and run puts it back before the next trial.", "",
          "| trial | kill → map change | kill → log line | kill → last connection to b2 | until the change: started, "
          f"failed, answered late (≥ {LATE * 1000:.0f} ms) | late before the kill | met b2 after the change (client "
          "ports) | failed otherwise | conntrack entries to b2 at the end (closed by a reset) | new connections after "
          "the change (b1 / b2 / b3) | held connections to b1, b3 kept |",
          "|---|---|---|---|---|---|---|---|---|---|---|"]

    def ms(value):
        return "never" if value is None else f"{value * 1000:.0f} ms"
    for number, t in enumerate(trials, start=1):
        stale = f"{t['stale']} ({t['stale_ports']})" if t["stale"] else "0"
        kinds = ", ".join(f"{t['other_kinds'].count(k)} {k}" for k in sorted(set(t["other_kinds"])))
        md.append(f"| {number} | {ms(t['changed'])} | {ms(t['logged'])} | {ms(t['last_any'])} | {t['window']}, "
                  f"{t['dead']}, {t['late']} | {t['late_before']} of {t['before']} | {stale} | "
                  f"{t['other']}{f' ({kinds})' if kinds else ''} | "
                  f"{t['entries']} ({t['closed_entries']}) | {counts_text(t['after'])} | {t['held_kept']} of "
                  f"{t['held_live']} |")
    line = trials[0]["line"].split(" ", 1)[1] if trials and trials[0]["line"] else ""
    window = sum(t["window"] for t in trials)
    after = sum(sum(t["after"]) for t in trials) or 1
    stale = sum(t["stale"] for t in trials)
    gap = [t["logged"] - t["changed"] for t in trials if t["logged"] is not None and t["changed"] is not None]
    md += ["", f"run's line in trial 1: `{line}`."
           + (f" It comes {1000 * min(gap):.0f} to {1000 * max(gap):.0f} ms after the map change: run writes it once "
              "it "
              "has also dealt with the dead backend's conntrack entries." if gap else ""), "",
           f"Until the map changes, the balancer sends b2's share of new connections (a third) to b2. Fewer fail "
           f"({sum(t['dead'] for t in trials)} of the {window} started in those spans, all trials) because b2 closed "
           f"its "
           "earlier connections first and still holds many of their tuples in TIME_WAIT: a SYN that NAT maps onto one "
           "of those is answered with a bare ACK (no listener takes it over), the client resets it and resends its SYN "
           "about 10 ms later (the kernel's quickest retransmission), conntrack opens a new connection for it, and the "
           f"next slot sends it to b1 or b3: it is answered, late ({sum(t['late'] for t in trials)} of them, against "
           f"{sum(t['late_before'] for t in trials)} in the second before the kills). The client threads wait on "
           f"those, "
           "so they started fewer connections in that span than the pace asks.", ""]
    if stale:
        md += [f"After the change, {stale} new connection{'s' if stale != 1 else ''} (all trials) still met b2. When "
               "the load ended, conntrack "
               f"still held {sum(t['entries'] for t in trials)} entries translated to b2 (all trials), "
               f"{sum(t['closed_entries'] for t in trials)} of them closed by a reset. A connection that b2 reset as "
               f"it "
               "died leaves such an entry, with its translation to b2; a new connection from the same client port "
               "matches it, and conntrack reuses it as it is (it reopens a closed entry only after a FIN, or after a "
               "reset from the client's side), so the SYN goes to b2 and is refused, which keeps the entry for another "
               "10 s, unless run deletes it.", ""]
    md += ["After the change, b2's one slot of three goes to one heir (the map keeps its size), so until b2 is back "
           "the other two do not share evenly: " + " and ".join(
               f"{NAMES[b]} took {100 * sum(t['after'][b] for t in trials) / after:.0f}%"
               for b in range(len(BACKENDS)) if b != DEAD) + " of the new connections after the change.", ""]
    return md
