"""Case 6, 1,000 policy entries: what they cost a packet, a new connection and an apply.

Policies are looked up once per connection, for its first packet; later packets find their
uplink in the conntrack mark. So two data-plane measurements, with entries that the traffic
never matches (the worst case: every lookup misses, and the connection is balanced after all):
one long TCP stream (the cost of every later packet, as in case 3), and many new UDP
connections (the cost of a first packet, where the lookups happen), the latter also against
the same 1,000 entries as a plain chain of one rule each, the way iptables-based tools (mwan3)
grow, installed by hand with nft. Then apply, re-apply and diff times with 0 and 1,000."""
import contextlib
import ipaddress
import json
import os
import subprocess
import sys

from ..lab import SERVICE, Lab, sh

from .aggregation import SECONDS
from .dataplane import PLANE_CPU
from .fanout import FanOut
from .harness import PREFIX, PROGRAMS, ROOT, in_ns, progress, rule_handle
from .latency import timed
from .stats import median

POLICY_COUNT = 1000
SMALL_COUNT = 100  # the same three maps with a tenth of the elements: does the cost follow the count?
ACTIONS = ("up1", "up2", "up3", "bypass")
STREAM_ROUNDS = 8
FLOW_ROUNDS = 10
FLOWS = 40000  # new connections per round; a fresh conntrack table holds them all
FIRST_FLOW_PORT = 20000  # the flows' destination ports; the entries' ports stay below 4000
IPERF_PORT = 5201
APPLY_RUNS = 5
UDP_SEND = os.path.join(PROGRAMS, "udp_send.py")


# The entries and the configs

def policy_entries(count):
    """`count` entries in three runs of one shape each (so three maps, of three key types): 60%
    destinations (/26 prefixes and /32 hosts), 20% protocol + destination port range, 20%
    destination + udp + port. The actions cycle through up1, up2, up3 and bypass. Addresses from
    198.19.1.0 to 198.19.250.255, ports 2000 to 3199: nothing the lab's traffic uses."""
    destinations, ports = count * 3 // 5, count // 5
    entries = []
    for i in range(destinations):
        third, slot = 1 + i // 4, i % 4
        entries.append({"destination": f"198.19.{third}.200/32" if slot == 3 else f"198.19.{third}.{64 * slot}/26"})
    for i in range(ports):
        entries.append({"protocol": ("tcp", "udp")[i % 2], "ports": (2000 + 2 * i, 2001 + 2 * i)})
    first_third = 2 + (destinations - 1) // 4
    for i in range(count - destinations - ports):
        entries.append({"destination": f"198.19.{first_third + i // 2}.{128 * (i % 2)}/25", "protocol": "udp",
                        "ports": (3000 + i, 3000 + i)})
    for i, entry in enumerate(entries):
        entry["action"] = ACTIONS[i % len(ACTIONS)]
    check_unmatched(entries)
    return entries


def check_unmatched(entries):
    """Every arm must do the same work past the lookups: no entry may catch the benchmark's
    traffic (198.19.0.1, the lab's 198.18.0.0/16, iperf3's port, the flows' ports)."""
    lab_networks = [ipaddress.ip_network("198.18.0.0/16"), ipaddress.ip_network(f"{SERVICE}/24", strict=False)]
    for entry in entries:
        caught = False
        if "destination" in entry:
            network = ipaddress.ip_network(entry["destination"])
            caught = network.prefixlen < 16 or any(network.overlaps(n) for n in lab_networks)
        if "ports" in entry:
            low, high = entry["ports"]
            caught = caught or high >= FIRST_FLOW_PORT or low <= IPERF_PORT <= high
        if caught:
            raise RuntimeError(f"policy entry {entry} could match the lab's traffic")


def entry_yaml(entry):
    fields = []
    if "destination" in entry:
        fields.append(f"destination: {entry['destination']}")
    if "protocol" in entry:
        fields.append(f"protocol: {entry['protocol']}")
    if "ports" in entry:
        low, high = entry["ports"]
        fields.append(f"destination-port: {low}" if low == high else f"destination-port: [{low}, {high}]")
    fields.append("bypass: true" if entry["action"] == "bypass" else f"uplink: {entry['action']}")
    return "  - {" + ", ".join(fields) + "}"


def config_text(entries):
    """examples/lab.yaml (3 uplinks, nth, local and forwarded) with these `policies:`."""
    with open(os.path.join(ROOT, "examples/lab.yaml")) as f:
        text = f.read()
    if not entries:
        return text
    return text.rstrip("\n") + "\n\npolicies:\n" + "\n".join(map(entry_yaml, entries)) + "\n"


def entry_rule(entry):
    """The entry as one plain nft rule, as an iptables-based tool writes it: no set, no map."""
    words = []
    if "destination" in entry:
        words.append(f"ip daddr {entry['destination']}")
    if "protocol" in entry:
        words.append(f"meta l4proto {entry['protocol']}")
    if "ports" in entry:
        low, high = entry["ports"]
        words.append(f"th dport {low}" if low == high else f"th dport {low}-{high}")
    words.append("return" if entry["action"] == "bypass" else f"goto new-{entry['action']}")
    return " ".join(words)


# The arms

def arms(small, full):
    """arm: (entries applied by uplinkctl, entries inserted by hand as plain rules)."""
    return {"no policies": ([], []), f"{SMALL_COUNT} policies": (small, []),
            f"{POLICY_COUNT:,} policies": (full, []), f"{POLICY_COUNT:,}-rule chain": ([], full)}


STREAM_ARMS = ("no policies", f"{POLICY_COUNT:,} policies")


def install_chain(bench, host, entries):
    """The entries as rules in uplinkctl's own IPv4 balance chain, in order, before its slot
    lookup: the same decisions, taken one rule after another."""
    handle = rule_handle(host, "balance-v4", "vmap @slots")
    in_ns(host, "nft", "-f", bench.write("".join(f"insert rule inet uplinkctl balance-v4 position {handle} "
                                                 f"{entry_rule(e)}\n" for e in entries), ".nft"))


def table_shape(host):
    """What the kernel holds: rules in the IPv4 balance chain, policy maps, their elements."""
    table = json.loads(in_ns(host, "nft", "-j", "list", "table", "inet", "uplinkctl"))["nftables"]
    rules = sum(1 for o in table if "rule" in o and o["rule"]["chain"].startswith("balance")
                and not o["rule"]["chain"].endswith("v6"))
    maps = [o["map"] for o in table if "map" in o and o["map"]["name"].startswith("policy")]
    return {"rules": rules, "maps": len(maps), "elements": sum(len(m.get("elem", [])) for m in maps)}


# Measuring

def server_packets(lab):
    return sum(int(sh("ip", "netns", "exec", lab.server, "cat", f"/sys/class/net/g{n}/statistics/rx_packets"))
               for n in range(1, lab.count + 1))


def new_connections(lab, sender=None, flows=FLOWS):
    """New connections per CPU-second from the host (or `sender`, the LAN client): `flows`
    datagrams, the sender pinned to PLANE_CPU at the highest priority. The host's conntrack
    table is emptied first, so that every round starts alike."""
    in_ns(lab.host, "conntrack", "-F")
    before = server_packets(lab)
    out = subprocess.run(["nice", "-n", "-20", "taskset", "-c", str(PLANE_CPU), "ip", "netns", "exec",
                          sender or lab.host,
                          sys.executable, UDP_SEND, "flows", str(flows), str(FIRST_FLOW_PORT), SERVICE],
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"the flow sender failed: {out.stderr.strip()}")
    delivered = server_packets(lab) - before
    if delivered < flows:  # a datagram dropped on the way would make the round look cheaper
        raise RuntimeError(f"only {delivered} of {flows} datagrams reached the server")
    return flows / float(out.stdout)


def stream(lab):
    return lab.download(lab.host, 1, SECONDS, cpu=PLANE_CPU) / 1000


def rotated(items, i):
    """A drift in the machine's speed hits every arm alike when the order rotates each round."""
    return items[i % len(items):] + items[:i % len(items)]


def measure_data_plane(bench, setups):
    """One lab per arm, set up once; the arms take turns in every round."""
    result = {"flows": {arm: [] for arm in setups}, "stream": {arm: [] for arm in STREAM_ARMS}, "shape": {}}
    with contextlib.ExitStack() as stack:
        labs = {}
        for number, (arm, (applied, by_hand)) in enumerate(setups.items()):
            lab = stack.enter_context(Lab(f"{PREFIX}-policies{number}", uplinks=3, lan=False))
            bench.uplinkctl("apply", "--netns", lab.host, bench.write(config_text(applied), ".yaml"))
            if by_hand:
                install_chain(bench, lab.host, by_hand)
            result["shape"][arm] = shape = table_shape(lab.host)
            progress(f"  {arm:17} {shape['rules']} rules in the IPv4 balance chain, {shape['maps']} policy "
                     f"maps with {shape['elements']} elements")
            if arm in STREAM_ARMS:
                lab.start_iperf_server()
            labs[arm] = lab
        for i in range(FLOW_ROUNDS):
            for arm in rotated(list(setups), i):
                result["flows"][arm].append(new_connections(labs[arm]))
                progress(f"  new connections {arm:17} {result['flows'][arm][-1] / 1000:6.1f} k/s")
        for i in range(STREAM_ROUNDS):
            for arm in rotated(list(STREAM_ARMS), i):
                result["stream"][arm].append(stream(labs[arm]))
                progress(f"  one stream      {arm:17} {result['stream'][arm][-1]:6.2f} Gbit/s")
    return result


def measure_apply(bench, configs):
    """APPLY_RUNS rounds on a bare host, each config in turn: check, apply on a fresh host,
    apply again with no change, diff; then flush, after which the host must be fresh."""
    times = {count: {"check": [], "apply": [], "re-apply": [], "diff": []} for count in configs}
    with FanOut(3) as fan:
        for _ in range(APPLY_RUNS):
            for count, config in configs.items():
                fan.check_fresh()
                times[count]["check"].append(timed(bench.binary, "check", config)[0])
                times[count]["apply"].append(timed(bench.binary, "apply", "--netns", fan.host, config)[0])
                elapsed, out = timed(bench.binary, "apply", "--netns", fan.host, config)
                if "nothing changed" not in out:
                    raise RuntimeError(f"re-apply with {count} policies changed something: {out}")
                times[count]["re-apply"].append(elapsed)
                times[count]["diff"].append(timed(bench.binary, "diff", "--netns", fan.host, config)[0])
                bench.uplinkctl("flush", "--netns", fan.host)
        fan.check_fresh()
    return times


def measure(bench):
    full = policy_entries(POLICY_COUNT)
    progress(f"case 6: {POLICY_COUNT:,} policy entries: {FLOW_ROUNDS} rounds of {FLOWS:,} new connections, "
             f"{STREAM_ROUNDS} single-stream downloads, pinned to CPU {PLANE_CPU}; {APPLY_RUNS} applies")
    result = measure_data_plane(bench, arms(policy_entries(SMALL_COUNT), full))
    result["apply"] = measure_apply(bench, {0: bench.write(config_text([]), ".yaml"),
                                            POLICY_COUNT: bench.write(config_text(full), ".yaml")})
    for count, ways in result["apply"].items():
        progress(f"  {count:5,} policies: " + ", ".join(f"{way} {median(v) * 1000:.1f} ms" for way, v in ways.items()))
    return result
