"""Case 1, bandwidth aggregation: downloads with P parallel streams over three shaped uplinks,
as a share of the practical sum (the links' single-stream goodputs in the same run), for every
method; then unequal links (30/20/10 Mbit/s, weights 3:2:1)."""
import time

from ..lab import Lab

from .harness import PREFIX, progress
from .methods import METHODS, install

# iperf3 -t SECONDS after -O 1 s of warm-up (slow start) that is not counted.
SECONDS = 3
STREAMS = (1, 3, 6, 12)
EQUAL = {"rates": [20, 20, 20], "weights": [1, 1, 1]}
UNEQUAL = {"rates": [30, 20, 10], "weights": [3, 2, 1], "streams": 6}
IDLE_SHARE = 0.05  # a link that carried less than 5% of a download's bytes sat idle


# Measuring

def shaped_lab(name, links):
    return Lab(f"{PREFIX}-{name}", uplinks=len(links["rates"]), rates_mbit=links["rates"], lan=False)


def download(lab, streams):
    """(goodput in Mbit/s, share of the bytes each link carried) of one iperf3 -R download."""
    for attempt in range(2):  # one retry: iperf3's server can still be closing the last test
        before = lab.received_bytes()
        try:
            goodput = lab.download(lab.host, streams, SECONDS)
        except RuntimeError:
            if attempt:
                raise
            time.sleep(1)
            continue
        moved = [b - a for a, b in zip(before, lab.received_bytes())]
        return goodput, [m / max(1, sum(moved)) for m in moved]


def practical_sum(run, links):
    """Each link alone (the host's default route moved onto it), one stream: the sum."""
    singles = []
    with shaped_lab(f"r{run}-single", links) as lab:
        lab.start_iperf_server()
        for n in range(1, len(links["rates"]) + 1):
            lab.batch(lab.host, [f"route replace default via 198.18.{n}.1 dev up{n}"])
            singles.append(download(lab, 1)[0])
    progress(f"  single links: {' + '.join(f'{s:.2f}' for s in singles)} = {sum(singles):.2f} Mbit/s")
    return singles


def measure_method(bench, run, method, links, streams, practical):
    """One method in a fresh lab: a download per P, as % of the practical sum."""
    rows = []
    with shaped_lab(f"r{run}-{method.split()[-1]}", links) as lab:
        config = install(bench, lab.host, method, links["weights"])
        lab.start_iperf_server()
        for p in streams:
            before = bench.connections(lab.host, config) if config else None
            goodput, shares = download(lab, p)
            conns = [b - a for a, b in zip(before, bench.connections(lab.host, config))] if config else None
            percent = 100 * goodput / practical
            rows.append({"run": run, "method": method, "streams": p, "goodput": goodput, "percent": percent,
                         "shares": shares, "conns": conns})
            progress(f"  {method:16} P={p:<2} {goodput:6.2f} Mbit/s = {percent:5.1f}%  links "
                     + "/".join(f"{s * 100:.0f}" for s in shares)
                     + (f"  new conns per uplink {conns}" if conns else ""))
    return rows


def measure(bench, runs):
    """Each run: the practical sums, then every method in a fresh lab (interleaved, so a noisy
    minute hits all methods alike)."""
    result = {"equal": [], "unequal": [], "singles": {"equal": [], "unequal": []}}
    for run in range(1, runs + 1):
        for kind, links in (("equal", EQUAL), ("unequal", UNEQUAL)):
            progress(f"case 1, run {run}/{runs}: {'/'.join(map(str, links['rates']))} Mbit/s")
            singles = practical_sum(run, links)
            result["singles"][kind].append(singles)
            streams = STREAMS if kind == "equal" else (links["streams"],)
            for method in METHODS:
                result[kind] += measure_method(bench, run, method, links, streams, sum(singles))
    return result
