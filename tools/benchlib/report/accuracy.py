"""Case 4, balance accuracy: its section of docs/benchmarks.md, from what `accuracy.measure` returned."""
import math

from ..accuracy import NTH_CONNECTIONS, RANDOM_CONNECTIONS, deviations
from ..targets import targets_line


def section(rows):
    md = ["## 4. Balance accuracy", "",
          f"New connections from the host, each a UDP datagram from a fresh socket bound to its own source "
          f"port (kernel-chosen ports repeat, and a datagram on an earlier connection's tuple would follow "
          f"that connection instead of opening a new one), in an unshaped lab, on a fresh apply each. "
          f"Counts are uplinkctl's per-uplink counters of new connections (`status --json`, "
          f"`connections`). nth: {NTH_CONNECTIONS} datagrams to the echo server "
          f"(Tests/UplinkCoreTests/Fixtures/lab/echo-server.py), which answers with the source address it "
          f"saw and the interface it came in by, so the harness knows each connection's uplink in order. "
          f"random: {RANDOM_CONNECTIONS} datagrams to port 9 (no listener; the connection exists from the "
          f"first packet).", "",
          "| mode | weights | connections | counts | expected | max deviation | max deviation, % of expected | "
          "per-cycle check |",
          "|---|---|---|---|---|---|---|---|"]
    verdicts = []
    for row in rows:
        absolute, relative, expected = deviations(row)
        weights = ":".join(map(str, row["weights"]))
        check = ""
        if row["mode"] == "nth":
            ok = (row["windows_good"] == row["windows"] and row["seq_counts"] == row["counts"]
                  and row["answered"] == row["n"])
            check = (f"{row['windows_good']} of {row['windows']} windows of {sum(row['weights'])} consecutive "
                     f"connections exact; {row['answered']} answered; the server's count "
                     f"{'matches' if row['seq_counts'] == row['counts'] else 'DIFFERS from'} the counters; "
                     f"first cycle {' '.join('up' + str(u + 1) for u in row['first'])}")
            verdicts.append((f"nth {weights}: exact per cycle", ok))
        else:
            verdicts.append((f"random {weights}: within 3% of the weights",
                             max(map(abs, relative)) <= 3))
        md.append(f"| {row['mode']} | {weights} | {row['n']} | {' / '.join(map(str, row['counts']))} | "
                  f"{' / '.join(f'{e:.1f}' for e in expected)} | {max(map(abs, absolute)):.2f} | "
                  f"{max(map(abs, relative)):.2f}% | {check} |")
    nth_rows = [r for r in rows if r["mode"] == "nth"]
    md += ["", targets_line(verdicts), "",
           f"nth: every window of W consecutive connections (W = the sum of the weights), wherever it "
           f"starts, holds each uplink exactly its weight, which means the sequence repeats with period W. "
           f"After any number of connections no uplink was more than "
           f"{max(r['prefix_dev'] for r in nth_rows):.2f} connections away from its exact share (the smooth "
           f"order keeps that under 1). The counters' deviation is what a partial last cycle leaves "
           f"({NTH_CONNECTIONS} is not a multiple of W).", "",
           random_note(rows), ""]
    return md


def random_note(rows):
    """Why a 3% bound on random can fail by chance: the binomial spread of the smallest share."""
    n, p = RANDOM_CONNECTIONS, 1 / 6  # up3's share in 3:2:1
    sigma = (n * p * (1 - p)) ** 0.5
    within = math.erf(0.03 * n * p / sigma / 2 ** 0.5)
    points = max(max(abs(a) for a in deviations(r)[0]) * 100 / r["n"] for r in rows if r["mode"] == "random")
    return (f"random: the deviation here is relative to each uplink's expected count (the strict reading of "
            f"\"within 3% of the weights\"). It is chance, not bias: with {n} draws the count of an uplink "
            f"with share p varies by σ = √(N·p·(1−p)); for p = 1/6 that is {sigma:.0f} connections, "
            f"{100 * sigma / (n * p):.1f}% of its expected {n * p:.0f}, so that uplink lands within 3% in "
            f"only {100 * within:.0f}% of runs. As a share of all connections the deviation was "
            f"{points:.2f} percentage points at most.")
