"""The parts of `make bench` (tools/bench.py, the entry point that runs them).

Measuring, one module per case, each with a `measure(bench)` that returns the case's figures as
data (and never writes the report):
aggregation, latency, dataplane, accuracy: cases 1 to 4. policies: case 6, 1,000 policy
entries. routecheck: case 7, the route check per new connection. failover: case 8, uplinkctl run
against an uplink that fails. services: case 9, incoming connections over backends (uplinkctl's
services, the recipe, HAProxy). mptcp: case 10, one MPTCP connection over every uplink.

What the cases share: harness (the namespace prefix, the binary under test, scratch files),
methods (how each balancing method is installed in a lab's host), fanout (the bare lab of case 2,
one host with N on-link gateways), stats, targets, machine (the facts of the machine section).
The programs they run inside the labs are in tools/programs (tcp_stream.py, udp_send.py,
svcbench.c).

Writing up: report/, docs/benchmarks.md from the cases' data, one module per case's section
(named after the case), chart (case 1 as docs/aggregation.svg) and failoverchart (case 8 as
docs/failover.svg).
"""
