"""Case 3, data-plane cost: one unshaped TCP stream with no ruleset, uplinkctl's, and the seed's
recipe's. Pinned (both iperf3 ends on one CPU, so the whole path runs there and the throughput
follows its cost per packet) and free (as the scheduler likes; on 2 cores one core or two, from
run to run, whatever the ruleset)."""
import contextlib
import os

from ..lab import Lab, private_copy

from .aggregation import EQUAL, SECONDS
from .harness import PREFIX, ROOT, progress
from .methods import install
from .stats import median, spread
from .targets import met

PLANE_ARMS = ("none", "uplinkctl", "iptables recipe")
PLANE_PINNED_ROUNDS = 8
PLANE_FREE_ROUNDS = 2
PLANE_CPU = os.cpu_count() - 1


def measure(bench):
    """One lab per ruleset (none ever installed in the first), each with its own iperf3 server;
    the rulesets take turns in every round, in a rotating order."""
    progress(f"case 3: data-plane cost, single-stream downloads, unshaped: {PLANE_PINNED_ROUNDS} rounds "
             f"pinned to CPU {PLANE_CPU}, {PLANE_FREE_ROUNDS} rounds free")
    result = {"pinned": {arm: [] for arm in PLANE_ARMS}, "free": {arm: [] for arm in PLANE_ARMS[:2]}}
    with contextlib.ExitStack() as stack:
        labs = {}
        for arm in PLANE_ARMS:
            lab = stack.enter_context(Lab(f"{PREFIX}-plane-{arm.split()[-1]}", uplinks=3, lan=False))
            if arm == "uplinkctl":
                bench.uplinkctl("apply", "--netns", lab.host, private_copy(os.path.join(ROOT, "examples/lab.yaml")))
            elif arm == "iptables recipe":
                install(bench, lab.host, arm, EQUAL["weights"])
            lab.start_iperf_server()
            labs[arm] = lab
        for kind, rounds, cpu in (("pinned", PLANE_PINNED_ROUNDS, PLANE_CPU), ("free", PLANE_FREE_ROUNDS, None)):
            arms = list(result[kind])
            for i in range(rounds):
                # Rotate the order, so that a drift in the machine's speed hits every ruleset alike.
                for arm in arms[i % len(arms):] + arms[:i % len(arms)]:
                    goodput = labs[arm].download(labs[arm].host, 1, SECONDS, cpu=cpu) / 1000
                    result[kind][arm].append(goodput)
                    progress(f"  {kind:6} {arm:15} {goodput:6.2f} Gbit/s")
    return result


def section(result):
    def ratio(kind, arm):
        return median(result[kind][arm]) / median(result[kind]["none"])

    pinned = ratio("pinned", "uplinkctl")
    md = ["## 3. Data-plane cost", "",
          f"Labs without shaping; one TCP stream downloaded from the server with iperf3 "
          f"(`-R -P 1 -t {SECONDS} -O 1`) from the host. One lab per ruleset, each set up once: **none** "
          f"(no ruleset ever installed, so no conntrack in the host either), **uplinkctl** (`examples/lab.yaml` "
          f"applied: conntrack, the marks, the ip rules and masquerading are all in the path) and, for "
          f"comparison, the seed's **iptables recipe** (section 1). The rulesets take turns in each round, "
          f"in a rotating order.", "",
          f"- **pinned**: `iperf3 -A {PLANE_CPU},{PLANE_CPU}` puts both ends, and with them the whole "
          f"path through the namespaces, on CPU {PLANE_CPU}; the throughput then follows the CPU cost per "
          f"packet, which is what a ruleset adds, and runs vary less; **the target is judged "
          f"on this one**.",
          f"- **free**: no pinning, as a user would run it. On this {os.cpu_count()}-core machine the "
          f"scheduler places the two ends on one core or on two from run to run, which moves the "
          f"throughput far more than any ruleset does; shown for completeness.", "",
          "| runs | ruleset | min | median | max | median ÷ none |", "|---|---|---|---|---|---|"]
    for kind in ("pinned", "free"):
        for arm, values in result[kind].items():
            low, mid, high = spread(values)
            md.append(f"| {kind} | {arm} | {low:.2f} Gbit/s | {mid:.2f} Gbit/s | {high:.2f} Gbit/s | "
                      f"{100 * ratio(kind, arm):.1f}% |")
    spreads = {arm: max(v) / min(v) for arm, v in result["pinned"].items()}
    md += ["", f"**Ratio of medians, uplinkctl ÷ none, pinned: {pinned * 100:.1f}%** (target ≥ 95%: "
           f"**{met(pinned >= 0.95)}**); free: {ratio('free', 'uplinkctl') * 100:.1f}%. "
           f"The seed's recipe, which needs conntrack and masquerading just the same, keeps "
           f"{ratio('pinned', 'iptables recipe') * 100:.1f}% pinned. Every run (Gbit/s): "
           + "; ".join(f"{kind} {arm} " + ", ".join(f"{v:.2f}" for v in values)
                       for kind in ("pinned", "free") for arm, values in result[kind].items()) + ".", "",
           "Run-to-run spread of the pinned runs (max ÷ min): "
           + ", ".join(f"{arm} {spreads[arm]:.2f}" for arm in spreads)
           + (f". That is larger than the {100 * (1 - pinned):.1f}% between the medians, so the verdict "
              f"is within this machine's noise; more rounds would narrow it." if max(spreads.values()) - 1 > 1 - pinned
              else "."), ""]
    return md
