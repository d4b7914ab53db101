"""Case 7, the route check: what asking "does this connection leave by an uplink?" costs a new
connection. The host's own connections are asked by `oifname @uplink-interfaces` (the kernel
has routed them already); forwarded ones by `fib daddr . mark oifname @uplink-route-interfaces`, a route
lookup before their own. Only the first packet of a connection is asked: later ones find their
uplink, or that they are left alone, in the conntrack mark.

One check costs far less than the run-to-run noise of a whole new connection through the lab,
so besides the table as installed and the same table with the check taken out, a third arm
repeats the check AMPLIFY more times (copies without a verdict, before the real one): the cost
of one check is then the difference over AMPLIFY + 1 checks, well above the noise."""
import contextlib
import os

from ..lab import Lab

from .dataplane import PLANE_CPU
from .harness import PREFIX, ROOT, in_ns, progress, rule_handle
from .policies import new_connections, rotated

ROUNDS = 24
FLOWS = 20000
AMPLIFY = 100
ARMS = ("no route check", "route check", f"route check ×{AMPLIFY + 1}")
SOURCES = ("forwarded", "local")
# Per source: the chain, the check as installed, and the check alone (a match without a verdict).
CHECKS = {"forwarded": ("forwarded-v4", "fib daddr . mark oifname @uplink-route-interfaces"),
          "local": ("local-v4", "oifname @uplink-interfaces")}


def remove_route_check(host):
    """The same table, but every new connection goes to the balancer unasked."""
    commands = [f"replace rule inet uplinkctl {chain} handle {rule_handle(host, chain, check)} goto balance-v4"
                for chain, check in CHECKS.values()]
    loopback = rule_handle(host, "local-v4", 'oifname "lo" return')
    commands.append(f"delete rule inet uplinkctl local-v4 handle {loopback}")
    in_ns(host, "nft", "-f", "-", input="\n".join(commands) + "\n")


def amplify_route_check(host):
    """AMPLIFY copies of each check, matching and doing nothing else, in front of the real one."""
    commands = []
    for chain, check in CHECKS.values():
        handle = rule_handle(host, chain, check)
        commands += [f"insert rule inet uplinkctl {chain} position {handle} {check}"] * AMPLIFY
    in_ns(host, "nft", "-f", "-", input="\n".join(commands) + "\n")


def measure(bench):
    progress(f"case 7: the route check, {ROUNDS} rounds of {FLOWS:,} new connections from the LAN client "
             f"(forwarded) and from the host (local), pinned to CPU {PLANE_CPU}")
    result = {source: {arm: [] for arm in ARMS} for source in SOURCES}
    with contextlib.ExitStack() as stack:
        labs = {}
        for number, arm in enumerate(ARMS):
            lab = stack.enter_context(Lab(f"{PREFIX}-route{number}", uplinks=3))
            bench.uplinkctl("apply", "--netns", lab.host, os.path.join(ROOT, "examples/lab.yaml"))
            if arm == ARMS[0]:
                remove_route_check(lab.host)
            elif arm == ARMS[2]:
                amplify_route_check(lab.host)
            labs[arm] = lab
        for i in range(ROUNDS):
            for source in SOURCES:
                for arm in rotated(list(ARMS), i):
                    lab = labs[arm]
                    rate = new_connections(lab, sender=lab.lan if source == "forwarded" else None, flows=FLOWS)
                    result[source][arm].append(rate)
                progress(f"  {source:9} "
                         + ", ".join(f"{arm} {result[source][arm][-1] / 1000:.1f} k/s" for arm in ARMS))
    return result
