"""Case 10, Multipath TCP: one download over one connection. Plain TCP against one MPTCP
connection, both through `uplinkctl apply` of a config with `mptcp: true`, over three equal
(3 x 20 Mbit/s) and unequal (30/20/10) uplinks, as a share of the practical sum; the same with
the first subflow balanced like any connection (the choice uplinkctl does not make, measured to
show why); and one uplink that stops forwarding during the download, under `uplinkctl run`.

The end hosts (the lab's host and server) use Reno. This machine's default congestion control,
BBR, which namespaces inherit, overruns the shaped links' shallow tbf queues: a single stream
recovers from that well enough, an MPTCP connection's subflows much less (its row shows it).
Cubic, the usual default, cannot be chosen inside a namespace here; Reno can, everywhere."""
import threading

from ..lab import Lab, UplinkctlRun

from .aggregation import EQUAL, UNEQUAL
from .harness import PREFIX, in_ns, progress, rule_handle

RUNS = 5
SECONDS = 4
OMIT = 1  # the first second (slow start, the joins being opened) is not counted
PORT_MPTCP = 9300
PORT_TCP = 9301
PORT_MPTCP_BBR = 9302
GOAL = 95.0
FAIL_SECONDS = 10
FAIL_AT = 4
CONGESTION = "reno"


def config(weights, health=False):
    head = "balance: nth\nmptcp: true\n" + ("health:\n  targets: [198.19.0.1]\n" if health else "")
    return head + "uplinks:\n" + "".join(
        f"  - {{name: up{n}, interface: up{n}, gateway: 198.18.{n}.1, weight: {w}}}\n"
        for n, w in enumerate(weights, start=1))


def congestion(lab, algorithm):
    """The end hosts' congestion control (for connections opened from now on)."""
    for namespace in (lab.host, lab.server):
        in_ns(namespace, "sysctl", "-qw", f"net.ipv4.tcp_congestion_control={algorithm}")


def prepared(lab):
    """Reno at both ends; the server's path manager takes joins; both sources run."""
    congestion(lab, CONGESTION)
    in_ns(lab.server, "ip", "mptcp", "limits", "set", "subflows", "4", "add_addr_accepted", "4")
    lab.start_transfer_source(PORT_MPTCP, Lab.MPTCP)
    lab.start_transfer_source(PORT_TCP, 0)


def goodput(lab, port, protocol):
    """(Mbit/s after the first second, each link's share of the bytes)."""
    before = lab.received_bytes()
    series = lab.fetch(port, SECONDS + OMIT, protocol)
    moved = [b - a for a, b in zip(before, lab.received_bytes())]
    return sum(series[OMIT:]) / SECONDS, [m / max(1, sum(moved)) for m in moved]


def balance_first_subflow(lab):
    """The alternative: the MP_CAPABLE rule removed, so the first subflow is balanced and
    masqueraded like any new connection (the lab is IPv4 only)."""
    handle = rule_handle(lab.host, "local-v4", "tcp option mptcp subtype 0")
    in_ns(lab.host, "nft", "delete", "rule", "inet", "uplinkctl", "local-v4", "handle", handle)


def practical_sum(run, kind, links):
    """Each link alone (the host's default route moved onto it, before uplinkctl), one plain
    TCP download with the same client and congestion control: the sum."""
    singles = []
    with Lab(f"{PREFIX}-m{run}{kind[0]}s", uplinks=3, rates_mbit=links["rates"], lan=False) as lab:
        prepared(lab)
        for n in range(1, len(links["rates"]) + 1):
            lab.batch(lab.host, [f"route replace default via 198.18.{n}.1 dev up{n}"])
            singles.append(goodput(lab, PORT_TCP, 0)[0])
    progress(f"  single links: {' + '.join(f'{s:.2f}' for s in singles)} = {sum(singles):.2f} Mbit/s")
    return singles


def measure_links(bench, kind, links, run):
    practical = sum(practical_sum(run, kind, links))
    rows = []
    with Lab(f"{PREFIX}-m{run}{kind[0]}", uplinks=3, rates_mbit=links["rates"], lan=False) as lab:
        prepared(lab)
        bench.uplinkctl("apply", "--netns", lab.host, bench.write(config(links["weights"]), ".yaml"))
        for label, port, protocol in (("TCP", PORT_TCP, 0), ("MPTCP", PORT_MPTCP, Lab.MPTCP)):
            mbit, shares = goodput(lab, port, protocol)
            rows.append({"kind": kind, "run": run, "what": label, "mbit": mbit, "percent": 100 * mbit / practical,
                         "shares": shares})
        # The same with this machine's default congestion control, for the record: a source
        # started under it (accepted sockets take their listener's).
        congestion(lab, "bbr")
        lab.start_transfer_source(PORT_MPTCP_BBR, Lab.MPTCP)
        mbit, shares = goodput(lab, PORT_MPTCP_BBR, Lab.MPTCP)
        rows.append({"kind": kind, "run": run, "what": "MPTCP, BBR", "mbit": mbit, "percent": 100 * mbit / practical,
                     "shares": shares})
        congestion(lab, CONGESTION)
        balance_first_subflow(lab)
        # A fresh connection; the new-connection counter moves on, so the first subflow lands on some uplink.
        mbit, shares = goodput(lab, PORT_MPTCP, Lab.MPTCP)
        rows.append({"kind": kind, "run": run, "what": "MPTCP, first subflow balanced", "mbit": mbit,
                     "percent": 100 * mbit / practical, "shares": shares})
    for row in rows:
        progress(f"  {kind:7} run {run}  {row['what']:30} {row['mbit']:6.2f} Mbit/s = {row['percent']:5.1f}%  links "
                 + "/".join(f"{s * 100:.0f}" for s in row["shares"]))
    return rows, practical


def measure_failure(bench):
    """One MPTCP download of FAIL_SECONDS; gateway 2 stops forwarding at FAIL_AT s."""
    with Lab(f"{PREFIX}-mfail", uplinks=3, rates_mbit=EQUAL["rates"], lan=False) as lab:
        prepared(lab)
        run = UplinkctlRun(bench.binary, lab.host, bench.write(config(EQUAL["weights"], health=True), ".yaml"))
        try:
            timer = threading.Timer(FAIL_AT, lab.forwarding, args=(2, False))
            timer.start()
            series = lab.fetch(PORT_MPTCP, FAIL_SECONDS, Lab.MPTCP)
            timer.join()
            endpoints = in_ns(lab.host, "ip", "mptcp", "endpoint", "show")
        finally:
            log = run.stop()
    down = [line for line in log.splitlines() if "up2 down" in line]
    progress("  failure: " + " ".join(f"{m:.1f}" for m in series) + " Mbit/s per second")
    return {"series": series, "down": down[0] if down else "", "withdrawn": "198.18.2.2" not in endpoints}


def measure(bench):
    result = {"rows": [], "practical": {"equal": [], "unequal": []}}
    for run in range(1, RUNS + 1):
        for kind, links in (("equal", EQUAL), ("unequal", UNEQUAL)):
            progress(f"case 10, run {run}/{RUNS}: {'/'.join(map(str, links['rates']))} Mbit/s")
            rows, practical = measure_links(bench, kind, links, run)
            result["rows"] += rows
            result["practical"][kind].append(practical)
    progress("case 10: an uplink fails during one MPTCP download")
    result["failure"] = measure_failure(bench)
    return result
