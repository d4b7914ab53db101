"""Case 2's lab: bare, so that an apply has nothing but its own work to do."""
from ..lab import sh

from .harness import PREFIX, in_ns


class FanOut:
    """A host with N veth uplinks (upN, 198.18.N.2/24) to one peer namespace that holds every
    gateway (dnN, 198.18.N.1/24): the gateways are on-link. Nothing else; no traffic."""

    def __init__(self, count):
        self.count = count
        self.host = f"{PREFIX}-fan{count}-host"
        self.peer = f"{PREFIX}-fan{count}-peer"
        self.made = []

    def __enter__(self):
        try:
            for name in (self.host, self.peer):
                sh("ip", "netns", "add", name)
                self.made.append(name)
            uplinks = range(1, self.count + 1)
            sh("ip", "-batch", "-", input="".join(
                f"link add up{n} netns {self.host} type veth peer name dn{n} netns {self.peer}\n" for n in uplinks))
            sh("ip", "-n", self.host, "-batch", "-", input="".join(
                f"addr add 198.18.{n}.2/24 dev up{n}\nlink set up{n} up\n" for n in uplinks)
                + "link set lo up\nroute add default via 198.18.1.1\n")
            sh("ip", "-n", self.peer, "-batch", "-", input="".join(
                f"addr add 198.18.{n}.1/24 dev dn{n}\nlink set dn{n} up\n" for n in uplinks))
            self.sysctls = self.read_sysctls()
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc):
        for name in reversed(self.made):
            sh("ip", "netns", "del", name, check=False)
        self.made = []
        return False

    def read_sysctls(self):
        keys = [f"net.ipv4.conf.up{n}.rp_filter" for n in range(1, self.count + 1)] + ["net.ipv4.ip_forward"]
        out = in_ns(self.host, "sysctl", *keys)
        return dict(line.replace(" ", "").split("=", 1) for line in out.splitlines())

    def reset(self):
        """Back to a fresh host: no nft/iptables tables, no rules or routes of ours, sysctls
        as they were."""
        in_ns(self.host, "sh", "-e", "-c",
              "nft flush ruleset; ip rule flush protocol 117; ip route flush table all proto 117; "
              "sysctl -qw " + " ".join(f"{k}={v}" for k, v in self.sysctls.items()))
        self.check_fresh()

    def check_fresh(self):
        problems = []
        if in_ns(self.host, "nft", "list", "ruleset").strip():
            problems.append("nft ruleset not empty")
        if len(sh("ip", "-n", self.host, "rule").splitlines()) != 3:
            problems.append("extra ip rules")
        if sh("ip", "-n", self.host, "route", "show", "table", "all", "proto", "117").strip():
            problems.append("routes with proto 117")
        if self.read_sysctls() != self.sysctls:
            problems.append("sysctls changed")
        if problems:
            raise RuntimeError(f"{self.host} is not fresh: {', '.join(problems)}")
