"""What every case shares: where the checkout is, the prefix of this run's namespaces,
progress lines, commands inside a namespace, and the Bench (the binary under test and a
scratch directory for the configs and scripts it is given)."""
import json
import os

from ..lab import sh

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# Standalone programs the cases run inside the labs' namespaces, by path.
PROGRAMS = os.path.join(ROOT, "tools", "programs")
# Every namespace of this run starts with it, so that cleanup removes ours only.
PREFIX = f"ulk-bench-{os.getpid()}"


def progress(text):
    print(text, flush=True)


def in_ns(namespace, *args, input=None):
    return sh("ip", "netns", "exec", namespace, *args, input=input)


def rule_handle(host, chain, text):
    """The handle of the first rule of uplinkctl's `chain` in `host` whose text holds `text`."""
    for line in in_ns(host, "nft", "-a", "list", "chain", "inet", "uplinkctl", chain).splitlines():
        if text in line:
            return line.split()[-1]
    raise RuntimeError(f"no rule with '{text}' in {host}'s chain {chain}")


class Bench:
    """What every case needs: the binary, a scratch directory for configs and scripts."""

    def __init__(self, binary, scratch):
        self.binary = binary
        self.scratch = scratch
        self.files = 0

    def write(self, text, suffix):
        self.files += 1
        path = os.path.join(self.scratch, f"{self.files:03d}{suffix}")
        with open(path, "w") as f:
            f.write(text)
        return path

    def uplinkctl(self, *args):
        return sh(self.binary, *args)

    def connections(self, host, config):
        """New connections balanced onto each uplink, from `status --json`."""
        status = json.loads(self.uplinkctl("status", "--json", "--netns", host, config))
        return [uplink["connections"] for uplink in status["uplinks"]]
