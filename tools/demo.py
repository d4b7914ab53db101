"""make demo: uplinkctl live, in a lab of network namespaces (see lab.py).

Three uplinks shaped to 20 Mbit/s each way. A download over one link first; then uplinkctl
applies examples/lab.yaml inside the lab's host, and the same download with one stream per
uplink, from the host and from the LAN client, adds the links up. Then status and diff; then one
download over one connection, plain TCP and then Multipath TCP (the same config with
`mptcp: true`); then failover: `uplinkctl run` during a download, gateway 2 stops forwarding and comes back. Then
flush. The lab is removed at the end, also on Ctrl-C or an error.

Usage: python3 -m tools.demo UPLINKCTL_BINARY CONFIG
"""
import os
import subprocess
import sys
import time

from .lab import Lab, UplinkctlRun, install_signal_handlers, private_copy, require_root

RATE = 20
SECONDS = 4


def bar(share, width=30):
    cells = round(share * width)
    return "█" * cells + "·" * (width - cells)


def title(text):
    print(f"\n\033[1m== {text}\033[0m", flush=True)


def uplinkctl(binary, *args):
    print("$ uplinkctl " + " ".join(args), flush=True)
    result = subprocess.run([binary, *args], capture_output=True, text=True)
    return result


FAILOVER_SECONDS = 9
FAIL_AT, REPAIR_AT = 3, 6
# Downloads of one TCP connection each, started one after the other so that each takes the
# next slot: (second, how many, how long).
DOWNLOADS = [(0, 3, 9), (4, 2, 5), (7, 3, 2)]


def failover(binary, config, lab, shown):
    """uplinkctl run while the LAN client downloads; gateway 2 stops forwarding at FAIL_AT and
    forwards again at REPAIR_AT. Each second: what each uplink carried, and the events run
    logged."""
    title(f"Failover: uplinkctl run, downloads from the LAN client; gateway 2 stops forwarding at {FAIL_AT} s "
          f"and comes back at {REPAIR_AT} s")
    lab.start_source()
    print("$ uplinkctl run --netns HOST " + shown, flush=True)
    run = UplinkctlRun(binary, lab.host, config)
    shown = 0
    try:
        before, started = lab.received_bytes(), time.monotonic()
        for second in range(FAILOVER_SECONDS):
            if second == FAIL_AT:
                lab.forwarding(2, False)
            if second == REPAIR_AT:
                lab.forwarding(2, True)
            for at, count, seconds in DOWNLOADS:
                if at == second:
                    print(f"       {count} new download{'s' if count > 1 else ''} of {seconds} s")
                    for _ in range(count):
                        lab.start_download(lab.lan, seconds)
                        time.sleep(0.1)
            time.sleep(max(0, started + second + 1 - time.monotonic()))
            after = lab.received_bytes()
            rates = [(b - a) * 8 / 1e6 for a, b in zip(before, after)]
            before = after
            print(f"  {second + 1:2d} s  " + "  ".join(f"up{n} {rate:4.1f}" for n, rate in enumerate(rates, start=1))
                  + " Mbit/s", flush=True)
            text = run.text()
            log = text[:text.rfind("\n") + 1]  # whole lines only
            for line in log[shown:].splitlines():
                if " notice: " in line or " critical: " in line or " error: " in line:
                    print("       run: " + line.split(" ", 1)[1].strip())
            shown = len(log)
    finally:
        run.stop()


def one_connection(binary, config, lab):
    """One download, one connection: plain TCP (one uplink), then MPTCP (every uplink)."""
    title("One download, one connection: plain TCP, then Multipath TCP (mptcp: true)")
    mptcp_config = private_copy(config)
    with open(mptcp_config, "a") as f:
        f.write("\nmptcp: true\n")
    applied = uplinkctl(binary, "apply", "--netns", lab.host, mptcp_config)
    print("  " + "\n  ".join(line for line in applied.stdout.splitlines() if "mptcp" in line or "applied" in line))
    # The server's path manager accepts joins (any MPTCP peer has its own settings).
    subprocess.run(["ip", "-n", lab.server, "mptcp", "limits", "set", "subflows", "4", "add_addr_accepted", "4"],
                   check=True)
    lab.start_transfer_source(9300, Lab.MPTCP)
    lab.start_transfer_source(9301, 0)
    results = []
    for label, port, protocol in (("plain TCP", 9301, 0), ("MPTCP", 9300, Lab.MPTCP)):
        before = lab.received_bytes()
        series = lab.fetch(port, SECONDS + 1, protocol)
        shares = [b - a for a, b in zip(before, lab.received_bytes())]
        total = sum(series[1:]) / SECONDS
        results.append((label, total))
        print(f"{label}, one connection: {total:5.1f} Mbit/s")
        for n, part in enumerate(shares, start=1):
            share = part / max(1, sum(shares))
            print(f"  up{n} {bar(share)} {share * 100:3.0f}%")
    # Back to the config without mptcp, for the failover scene.
    uplinkctl(binary, "apply", "--netns", lab.host, config)
    os.remove(mptcp_config)
    return results


def main():
    if len(sys.argv) != 3 or sys.argv[1] in ("-h", "--help"):
        print("usage: python3 -m tools.demo UPLINKCTL_BINARY CONFIG (as root; make demo runs it)", file=sys.stderr)
        return 2
    binary, shown = sys.argv[1], sys.argv[2]
    require_root("make demo")
    config = private_copy(shown)
    install_signal_handlers()
    started = time.monotonic()
    prefix = f"ulk-demo-{os.getpid()}"
    print(f"Building the lab: namespaces {prefix}-*, three uplinks of {RATE} Mbit/s each way (tc tbf), a server "
          f"behind them, a LAN client behind the host. Nothing touches this machine's own network.")
    with Lab(prefix, uplinks=3, rates_mbit=[RATE] * 3) as lab:
        lab.start_iperf_server()

        title("Before uplinkctl: one download, one link (the host's default route)")
        single = lab.download(lab.host, 1, SECONDS)
        print(f"host, 1 stream: {single:5.1f} Mbit/s")

        title("uplinkctl apply")
        result = uplinkctl(binary, "apply", "--netns", lab.host, config)
        lines = result.stdout.splitlines()
        for line in lines[:4] + (["  …"] if len(lines) > 5 else []) + lines[-1:]:
            print("  " + line)
        if result.returncode != 0:
            print(result.stderr, file=sys.stderr)
            return 1

        results = []
        for who, namespace in (("host", lab.host), ("LAN client", lab.lan)):
            title(f"After: the same download from the {who}, 3 streams (one per uplink)")
            before = lab.received_bytes()
            total = lab.download(namespace, 3, SECONDS)
            after = lab.received_bytes()
            shares = [b - a for a, b in zip(before, after)]
            results.append((who, total))
            print(f"{who}, 3 streams: {total:5.1f} Mbit/s  = {total / single:.2f} × the single link")
            for n, part in enumerate(shares, start=1):
                share = part / max(1, sum(shares))
                print(f"  up{n} {bar(share)} {share * 100:3.0f}%")

        title("uplinkctl status")
        print(uplinkctl(binary, "status", "--netns", lab.host, config).stdout, end="")

        title("uplinkctl diff (exit 0: in sync)")
        diff = uplinkctl(binary, "diff", "--netns", lab.host, config)
        print(diff.stdout, end="")
        print(f"exit {diff.returncode}")

        connections = one_connection(binary, config, lab)

        failover(binary, config, lab, shown)

        title("uplinkctl flush")
        flush = uplinkctl(binary, "flush", "--netns", lab.host)
        print(flush.stdout.splitlines()[-1] if flush.stdout else flush.stderr)

        title("Summary")
        print(f"{'one link:':22} {single:5.1f} Mbit/s")
        for who, total in results:
            print(f"{who + ', 3 links:':22} {total:5.1f} Mbit/s ({total / single:.2f} ×)")
        for label, total in connections:
            print(f"{'one ' + label + ' conn.:':22} {total:5.1f} Mbit/s ({total / single:.2f} ×)")
    print(f"\nLab removed. {time.monotonic() - started:.0f} s in all.")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("\ninterrupted; the lab was removed", file=sys.stderr)
        sys.exit(130)
