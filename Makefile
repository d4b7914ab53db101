# uplinkctl: `make demo` shows it, `make test` checks it. Both install what they need.
SWIFT ?= swift
APT_PACKAGES = libmnl-dev libnftnl-dev pkg-config iproute2 nftables iptables conntrack iperf3 python3 systemd
# make bench also needs these: case 9 compares with HAProxy and builds its C load generator with cc.
BENCH_PACKAGES = haproxy gcc
BIN = .build/debug/uplinkctl
# What users install: optimised, the Swift runtime linked in (a third of the start-up time).
RELEASE_BIN = .build/release/uplinkctl

.PHONY: all build release test demo bench deps clean

all: build

# Debian/Ubuntu packages, installed only when one is missing (apt-get update once, first).
deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" != 0 ]; then echo "missing packages:$$missing (run as root, or: sudo apt-get install$$missing)"; exit 1; fi; \
		echo "installing:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release --static-swift-stdlib

test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

# Live, in a lab of network namespaces (tools/lab.py), about 30 s; needs root, removes the lab on exit.
demo: build
	@python3 tools/demo.py $(BIN) examples/lab.yaml

# Benchmarks in labs of network namespaces (tools/bench.py), about 24 minutes; needs root, removes
# the labs on exit. Writes docs/benchmarks.md, docs/aggregation.svg and docs/failover.svg. Measures
# the release build.
bench: release
	@$(MAKE) --no-print-directory deps APT_PACKAGES="$(BENCH_PACKAGES)"
	@python3 tools/bench.py $(RELEASE_BIN)

clean:
	rm -rf .build
