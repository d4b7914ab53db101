"""uplinkctl's tools, one package run from the checkout's top with `python3 -m`:

    python3 -m tools.demo BINARY CONFIG     make demo: uplinkctl live in a lab of namespaces
    python3 -m tools.bench BINARY           make bench: docs/benchmarks.md
    python3 -m tools.prove BINARY           make prove: docs/proof.md
    python3 -m tools.manref                 make man: dist/uplinks.yaml.5 from the README

lab: the lab of network namespaces they share. benchlib: the bench's cases and its report.
provelib: the proof's parts (the Swift proof tests, the fuzzer, the soak) and its report.
programs: small standalone programs run inside the labs' namespaces by path.
"""
