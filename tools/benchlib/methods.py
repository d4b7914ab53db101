"""The balancing methods compared, and how each is installed in a lab's host (uplinks up1…upN,
gateways 198.18.N.1): uplinkctl in nth and random mode, the seed's hand-written iptables
recipe, and the kernel's ECMP route."""
from .harness import in_ns

METHODS = ("uplinkctl nth", "uplinkctl random", "iptables recipe", "kernel ECMP")
# The recipe's slot → link (0 = up1, mark 10, the default). 1:1:1 as the seed writes it for
# three links: packet 0 → mark 11, packet 1 → mark 12, the rest keep 10. 3:2:1: six slots.
RECIPE_SLOTS = {(1, 1, 1): [1, 2, 0], (3, 2, 1): [0, 1, 0, 1, 0, 2]}


def config_yaml(count, weights=None, balance="nth"):
    """A config for uplinks up1…upN with gateways 198.18.N.1, as in the labs."""
    lines = [f"balance: {balance}", "traffic: [local, forwarded]", "", "uplinks:"]
    for n in range(1, count + 1):
        lines += [f"  - name: up{n}", f"    interface: up{n}", f"    gateway: 198.18.{n}.1"]
        if weights:
            lines.append(f"    weight: {weights[n - 1]}")
    return "\n".join(lines) + "\n"


def loose_rp_filter(count):
    # Replies come back on every uplink; a distribution's strict mode would drop most of them.
    return [f"sysctl -qw net.ipv4.conf.up{n}.rp_filter=2" for n in range(1, count + 1)]


def masquerade(count):
    return [f"iptables -t nat -A POSTROUTING -o up{n} -j MASQUERADE" for n in range(1, count + 1)]


def recipe_script(weights):
    """The seed's hand-written recipe (OUTPUT only), for the lab's uplinks up1…up3."""
    count, every = len(weights), sum(weights)
    order = RECIPE_SLOTS[tuple(weights)]
    lines = loose_rp_filter(count)
    for n in range(1, count + 1):
        table = 109 + n
        lines += [f"ip route add 198.18.{n}.0/24 dev up{n} table {table}",
                  f"ip route add default via 198.18.{n}.1 table {table}",
                  f"ip rule add fwmark {9 + n} table {table} prio 31000"]
    lines += ["iptables -t mangle -A OUTPUT -j CONNMARK --restore-mark",
              "iptables -t mangle -A OUTPUT -m mark ! --mark 0 -j ACCEPT",
              "iptables -t mangle -A OUTPUT -j MARK --set-mark 10"]
    lines += [f"iptables -t mangle -A OUTPUT -m statistic --mode nth --every {every} --packet {slot} "
              f"-j MARK --set-mark {10 + uplink}" for slot, uplink in enumerate(order) if uplink != 0]
    lines.append("iptables -t mangle -A OUTPUT -j CONNMARK --save-mark")
    lines += masquerade(count)
    return "\n".join(lines) + "\n"


def ecmp_script(weights):
    """One multipath default route, hashed on the 5-tuple, and masquerading per uplink."""
    count = len(weights)
    hops = " ".join(f"nexthop via 198.18.{n}.1 dev up{n} weight {weights[n - 1]}" for n in range(1, count + 1))
    lines = ["sysctl -qw net.ipv4.fib_multipath_hash_policy=1"] + loose_rp_filter(count)
    lines.append(f"ip route replace default {hops}")
    lines += masquerade(count)
    return "\n".join(lines) + "\n"


def install(bench, host, method, weights):
    """Installs one method in a fresh lab's host; returns the config (uplinkctl) or None."""
    if method.startswith("uplinkctl"):
        config = bench.write(config_yaml(len(weights), weights, method.split()[1]), ".yaml")
        bench.uplinkctl("apply", "--netns", host, config)
        return config
    script = recipe_script(weights) if method == "iptables recipe" else ecmp_script(weights)
    in_ns(host, "sh", "-e", "-c", script)
    return None
