"""The parts of `make bench` (tools/bench.py, the entry point that runs them).

harness: what every case shares (the namespace prefix, the binary under test, scratch files).
methods: how each balancing method is installed in a lab's host.
fanout: the bare lab of case 2, one host with N on-link gateways.
aggregation, latency, dataplane, accuracy: cases 1 to 4, each measured and written up;
policies: case 6, 1,000 policy entries. routecheck: case 7, the route check per new connection.
failover: case 8, uplinkctl run against an uplink that fails; tcp_stream, its new connections.
services: case 9, incoming connections over backends (uplinkctl's services, the recipe, HAProxy);
svcbench.c, its C client and servers.
chart: case 1 as docs/aggregation.svg. failoverchart: case 8 as docs/failover.svg. report: docs/benchmarks.md around the sections.
stats: min / median / max.

The modules import tools/lab.py as `lab`: bench.py puts tools/ on sys.path first.
"""
