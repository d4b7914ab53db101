# uplinkctl: `make demo` shows it, `make test` checks it. Both install what they need.
SWIFT ?= swift
APT_PACKAGES = libmnl-dev libnftnl-dev pkg-config iproute2 nftables iptables conntrack iperf3 python3 systemd
# make test also needs these: the fleet example's playbook is run by ansible (on lab namespaces only).
TEST_PACKAGES = ansible-core
# make bench also needs these: case 9 compares with HAProxy and builds its C load generator with cc.
BENCH_PACKAGES = haproxy gcc
BIN = .build/debug/uplinkctl
# What users install: optimised, the Swift runtime linked in (a third of the start-up time).
RELEASE_BIN = .build/release/uplinkctl

# Where `make install` puts things (DESTDIR for a staging root, as packagers use it). The config
# lives in /etc/uplinkctl whatever the prefix; the unit goes where systemd looks for the prefix.
PREFIX ?= /usr/local
DESTDIR ?=
BINDIR = $(PREFIX)/bin
MANDIR = $(PREFIX)/share/man
DATADIR = $(PREFIX)/share
SYSCONFDIR ?= /etc
UNITDIR ?= $(if $(filter /usr,$(PREFIX)),/lib/systemd/system,$(PREFIX)/lib/systemd/system)
# The binary to install: the release build (a test may give the debug one).
INSTALL_BIN ?= $(RELEASE_BIN)
# What install writes, relative to DESTDIR (uninstall removes exactly these; the config only
# while it is still the example).
INSTALLED = $(BINDIR)/uplinkctl $(UNITDIR)/uplinkctl.service $(MANDIR)/man1/uplinkctl.1 $(MANDIR)/man5/uplinks.yaml.5 \
	$(DATADIR)/bash-completion/completions/uplinkctl $(DATADIR)/zsh/site-functions/_uplinkctl \
	$(DATADIR)/fish/vendor_completions.d/uplinkctl.fish
CONFIG = $(SYSCONFDIR)/uplinkctl/uplinks.yaml

# make fuzz: the libFuzzer target for the config reader and checker, in its own scratch path
# (clang's libFuzzer and AddressSanitizer come with the Swift toolchain). FUZZ_SUMMARY=PATH also
# writes the run's figures as JSON there; make test runs it for FUZZ_SMOKE_SECONDS.
FUZZ_SECONDS ?= 1800
FUZZ_SMOKE_SECONDS ?= 60
FUZZ_SUMMARY ?=
FUZZ_BIN = .build-fuzz/release/UplinkFuzz

.PHONY: all build release test demo bench prove deps clean install uninstall deb man fuzz fuzz-build

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

# Type metadata by accessor rather than by mangled name: the runtime then need not look up
# each generic type's conformances by scanning every conformance record of this large binary
# (a tenth or more of a short command's time, in its argument parsing and JSON records).
RELEASE_FLAGS = -Xswiftc -Xfrontend -Xswiftc -disable-concrete-type-metadata-mangled-name-accessors

release: deps
	$(SWIFT) build -c release --static-swift-stdlib $(RELEASE_FLAGS)

# The release build too: the packaging test builds a .deb of it. A short fuzzing run (make fuzz) first.
test: release
	@$(MAKE) --no-print-directory deps APT_PACKAGES="$(TEST_PACKAGES)"
	$(SWIFT) build --build-tests
	@$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=$(FUZZ_SMOKE_SECONDS)
	$(SWIFT) test --skip-build

# UPLINKCTL_FUZZ=1 declares the target (Package.swift); -sanitize=fuzzer links libFuzzer. The C
# of Yams (libyaml) is instrumented too: its coverage guides the fuzzer, and ASan watches it.
fuzz-build:
	UPLINKCTL_FUZZ=1 $(SWIFT) build -c release --product UplinkFuzz --scratch-path .build-fuzz \
		-Xswiftc -sanitize=fuzzer,address -Xcc -fsanitize=fuzzer-no-link,address

fuzz: fuzz-build
	@$(MAKE) --no-print-directory deps APT_PACKAGES=python3
	python3 -m tools.fuzz $(FUZZ_BIN) --seconds $(FUZZ_SECONDS) $(if $(FUZZ_SUMMARY),--summary $(FUZZ_SUMMARY))

# Live, in a lab of network namespaces (tools/lab.py), about 30 s; needs root, removes the lab on exit.
demo: build
	@python3 -m tools.demo $(BIN) examples/lab.yaml

# Benchmarks in labs of network namespaces (tools/bench.py), about 30 minutes; needs root, removes
# the labs on exit. Writes docs/benchmarks.md, docs/aggregation.svg and docs/failover.svg. Measures
# the release build.
bench: release
	@$(MAKE) --no-print-directory deps APT_PACKAGES="$(BENCH_PACKAGES)"
	@python3 -m tools.bench $(RELEASE_BIN)

# Proof under stress (tools/prove.py), about 50 minutes; needs root, removes its labs on exit. The Swift
# proof tests with PROVE_CONFIGS random configs, then `make fuzz` for PROVE_FUZZ_SECONDS while a soak
# of the release build's `uplinkctl run` lasts PROVE_SOAK_SECONDS. Writes docs/proof.md; fails when a
# part does. PROVE_SKIP=swift,fuzz,soak leaves parts out (the report says so).
PROVE_CONFIGS ?= 300
PROVE_FUZZ_SECONDS ?= 1800
PROVE_SOAK_SECONDS ?= 1800
PROVE_SKIP ?=
prove: release
	@python3 -m tools.prove $(RELEASE_BIN) --configs $(PROVE_CONFIGS) --fuzz-seconds $(PROVE_FUZZ_SECONDS) \
		--soak-seconds $(PROVE_SOAK_SECONDS) --swift $(SWIFT) $(if $(PROVE_SKIP),--skip $(PROVE_SKIP))

# The binary, the systemd unit (pointing at it), the manual page, bash/zsh/fish completions and,
# when there is none, the example config. Into DESTDIR when given: never into this machine's
# /usr in the tests.
install: $(if $(filter $(RELEASE_BIN),$(INSTALL_BIN)),release)
	install -D -m 0755 $(INSTALL_BIN) $(DESTDIR)$(BINDIR)/uplinkctl
	install -d $(DESTDIR)$(UNITDIR)
	sed 's|/usr/local/bin/uplinkctl|$(BINDIR)/uplinkctl|g' dist/uplinkctl.service > $(DESTDIR)$(UNITDIR)/uplinkctl.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/uplinkctl.service
	install -D -m 0644 dist/uplinkctl.1 $(DESTDIR)$(MANDIR)/man1/uplinkctl.1
	install -D -m 0644 dist/uplinks.yaml.5 $(DESTDIR)$(MANDIR)/man5/uplinks.yaml.5
	install -d $(DESTDIR)$(DATADIR)/bash-completion/completions $(DESTDIR)$(DATADIR)/zsh/site-functions \
		$(DESTDIR)$(DATADIR)/fish/vendor_completions.d
	$(INSTALL_BIN) --generate-completion-script bash > $(DESTDIR)$(DATADIR)/bash-completion/completions/uplinkctl
	$(INSTALL_BIN) --generate-completion-script zsh > $(DESTDIR)$(DATADIR)/zsh/site-functions/_uplinkctl
	$(INSTALL_BIN) --generate-completion-script fish > $(DESTDIR)$(DATADIR)/fish/vendor_completions.d/uplinkctl.fish
	@if [ -e $(DESTDIR)$(CONFIG) ]; then echo "kept $(DESTDIR)$(CONFIG)"; \
	else install -D -m 0644 dist/uplinks.yaml $(DESTDIR)$(CONFIG); fi

uninstall:
	rm -f $(addprefix $(DESTDIR),$(INSTALLED))
	@if cmp -s dist/uplinks.yaml $(DESTDIR)$(CONFIG); then rm -f $(DESTDIR)$(CONFIG); rmdir $(DESTDIR)$(SYSCONFDIR)/uplinkctl 2>/dev/null || true; \
	elif [ -e $(DESTDIR)$(CONFIG) ]; then echo "kept $(DESTDIR)$(CONFIG) (changed since install)"; fi

# The manual pages in dist/: uplinkctl(1) from the argument parser (its generate-manual plugin),
# uplinks.yaml(5) from the README's reference tables. Run after changing either; a test says when.
man: deps
	$(SWIFT) package generate-manual
	cp .build/plugins/GenerateManual/outputs/uplinkctl/uplinkctl.1 dist/uplinkctl.1
	python3 -m tools.manref

# A Debian package of the same files (prefix /usr), built with dpkg-deb into .build/deb.
deb: $(if $(filter $(RELEASE_BIN),$(INSTALL_BIN)),release)
	@tools/deb.sh $(INSTALL_BIN)

clean:
	rm -rf .build .build-fuzz
