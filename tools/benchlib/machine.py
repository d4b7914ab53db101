"""The machine section's facts: CPU, kernel, the commit measured, the tools' versions."""
import os
import platform
import subprocess

from .harness import ROOT


def machine():
    def out(*args):
        try:
            return subprocess.run(args, capture_output=True, text=True, cwd=ROOT).stdout.strip()
        except OSError:
            return "?"
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    iperf3 = out("iperf3", "--version")
    haproxy = out("haproxy", "-v")  # case 9's userspace balancer
    return {"cores": os.cpu_count(), "kernel": platform.release(), "cpu": model,
            # The commit the binary was built from; changes outside the sources do not count.
            "commit": out("git", "rev-parse", "--short=12", "HEAD") + (
                " with uncommitted changes to the sources"
                if out("git", "status", "--porcelain", "--", "Sources", "Package.swift", "Package.resolved") else ""),
            "iperf3": iperf3.splitlines()[0] if iperf3 else "?",
            "haproxy": haproxy.splitlines()[0].split(" - ")[0] if haproxy.startswith("HAProxy") else "",
            "iptables": out("iptables", "--version"), "nft": out("nft", "--version")}
