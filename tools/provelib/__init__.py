"""The parts of `make prove` (tools/prove.py, the entry point that runs them).

swifttests: the Swift proof tests (random-config equivalence, every fault point, concurrency),
run with the report directory they write their JSON figures into.
fuzz: `make fuzz` for a given time, in the background, and its JSON summary.
soak: `uplinkctl run` for a long time against a flapping, a lossy and a vanishing uplink.
stats: least-squares slopes and percentiles. render: any JSON as markdown.
report: docs/proof.md from what the parts returned.
"""
