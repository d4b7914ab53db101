"""make bench: uplinkctl measured against the hand-made ways, in labs of network namespaces.

1. Bandwidth aggregation: downloads with P parallel streams over three shaped uplinks, as a
   share of the practical sum (the three links' single-stream goodputs, measured in the same
   run), for uplinkctl nth, uplinkctl random, the seed's iptables recipe and the kernel's ECMP;
   then unequal links (30/20/10 Mbit/s, weights 3:2:1).
2. Apply latency for 2, 8 and 32 uplinks: uplinkctl apply, its own dry-run iptables script,
   nft -f + ip -batch + sysctl, and a re-apply with no change.
3. Data-plane cost: the CPU time a gigabyte costs over one unshaped TCP stream with no ruleset,
   uplinkctl's, and the seed's, in many short rounds; each ratio with its confidence interval.
4. Balance accuracy: new UDP connections in nth and random mode, counted by uplinkctl's
   counters and, for nth, checked one by one at the server.
5. docs/aggregation.svg: case 1 as a chart.
6. 1,000 policy entries: one TCP stream and new connections per second with none, with 1,000
   (uplinkctl's maps) and with the same 1,000 as a plain chain of rules; apply, re-apply and
   diff times.
7. The route check: new connections per second, forwarded and local, with and without the
   check that balances only what would leave by an uplink.
8. Failover: how long new connections fail when an uplink loses its carrier or its gateway
   stops forwarding, for uplinkctl run, uplinkctl without health checks and kernel ECMP; 10%
   loss without a transition; run's CPU with 8 uplinks; docs/failover.svg.
9. Services: new connections to one address spread over three backends by uplinkctl's DNAT, by
   seed 001's iptables recipe, by HAProxy (TCP mode) and straight to one backend: new connections
   per second, CPU per connection, one-stream throughput, the spread over the backends (nth, random,
   hash), and a backend dying under load with uplinkctl run.

Each case is a module of benchlib/ (see its __init__) that measures and returns data; this file
runs them and hands the data to benchlib/report, which writes docs/benchmarks.md,
docs/aggregation.svg and docs/failover.svg (figures measured in this run, never typed in). Every
namespace is named ulk-bench-PID-* and removed at the end, also on Ctrl-C or an error; nothing
touches this machine's own network, and no packet leaves the labs.

Usage: python3 -m tools.bench UPLINKCTL_BINARY [--cases 1,2,3,4,6,7,8,9,10] [--runs N] [--out DIR]
"""
import argparse
import datetime
import functools
import os
import sys
import tempfile
import time

from .benchlib import (accuracy, aggregation, dataplane, failover, latency, mptcp, policies, routecheck,
                       services)
from .benchlib.harness import PREFIX, ROOT, Bench, progress
from .benchlib.machine import machine
from .benchlib.report import write_report
from .lab import install_signal_handlers, remove_namespaces, require_root


def main():
    parser = argparse.ArgumentParser(prog="python3 -m tools.bench",
                                     description="uplinkctl benchmarks in labs of network namespaces")
    parser.add_argument("binary")
    parser.add_argument("--cases", default="1,2,3,4,6,7,8,9,10",
                        help="which cases to run (default all; 5, the chart, comes with 1)")
    parser.add_argument("--runs", type=int, default=3, help="runs of case 1 (default 3)")
    parser.add_argument("--out", default=os.path.join(ROOT, "docs"), help="where to write the report")
    args = parser.parse_args()
    cases = {int(c) for c in args.cases.split(",")}
    binary = os.path.abspath(args.binary)
    require_root("make bench")
    if 9 in cases:
        services.require_tools()
    install_signal_handlers()
    started = time.monotonic()
    info = machine()
    info["date"] = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    info["binary"] = os.path.relpath(binary, ROOT)
    progress(f"Benchmarks in namespaces {PREFIX}-*; uplinkctl {info['commit']}, {info['cores']} cores, "
             f"kernel {info['kernel']}. About 30 minutes; nothing touches this machine's own network.")
    # Quick cases first, so that a problem shows in seconds, not after case 1.
    order = ((2, latency.measure), (4, accuracy.measure), (6, policies.measure), (7, routecheck.measure),
             (9, services.measure), (3, dataplane.measure), (1, functools.partial(aggregation.measure, runs=args.runs)),
             (8, failover.measure), (10, mptcp.measure))
    results = {}
    try:
        with tempfile.TemporaryDirectory(prefix="ulk-bench-") as scratch:
            bench = Bench(binary, scratch)
            for case, measure in order:
                if case in cases:
                    t = time.monotonic()
                    results[case] = measure(bench)
                    progress(f"  ({time.monotonic() - t:.0f} s)")
    finally:
        remove_namespaces(PREFIX)
    elapsed = time.monotonic() - started
    write_report(args.out, info, results, args.runs, elapsed)
    progress(f"Wrote {os.path.relpath(args.out, ROOT)}/benchmarks.md"
             + (", aggregation.svg" if 1 in results else "") + (", failover.svg" if 8 in results else "")
             + f" in {elapsed:.0f} s; labs removed.")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("\ninterrupted; the labs were removed", file=sys.stderr)
        sys.exit(130)
    except RuntimeError as error:  # a lab command failed (or died of the same Ctrl-C first)
        print(f"\nbench failed: {error}\nthe labs were removed; nothing was written", file=sys.stderr)
        sys.exit(1)
