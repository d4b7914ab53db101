"""make prove: what uplinkctl promises, tried wider than the tests' hand-picked cases.

1. The Swift proof tests: random configs applied and dry-run in fresh namespaces must give the
   same kernel state (random-config equivalence), a kernel refusal at every step of every
   example's apply leaves nothing behind (every fault point), and applies, runs and flushes at
   once never mix two configs (concurrency). They write their figures as JSON, shown here.
2. The fuzzer of the config reader (`make fuzz`) for a given time, in the background, while
3. the soak runs: `uplinkctl run` in a lab with one uplink flapping, one losing 10% of its
   packets and one whose interface is deleted and made again (provelib/soak.py).

Writes docs/proof.md (figures measured in this run, never typed in); the logs stay in
.build/prove/. Exits 1 when any part failed. Namespaces are named ulk-prove-PID-* and removed at
the end, also on Ctrl-C or an error; nothing touches this machine's own network.

Usage: python3 -m tools.prove UPLINKCTL_BINARY [--configs N] [--fuzz-seconds S] [--soak-seconds S]
                              [--skip swift,fuzz,soak] [--out DIR]
"""
import argparse
import datetime
import os
import shutil
import sys
import time

from .benchlib.harness import ROOT, progress
from .benchlib.machine import machine
from .lab import install_signal_handlers, remove_namespaces, require_root
from .provelib.fuzz import FuzzRun
from .provelib.report import write_report
from .provelib.soak import run_soak
from .provelib.swifttests import run_swift_tests

PREFIX = f"ulk-prove-{os.getpid()}"
PARTS = ("swift", "fuzz", "soak")


def main():
    parser = argparse.ArgumentParser(prog="python3 -m tools.prove", description="uplinkctl under stress: make prove")
    parser.add_argument("binary")
    parser.add_argument("--configs", type=int, default=300, help="random configs of the equivalence test (300)")
    parser.add_argument("--fuzz-seconds", type=int, default=1800, help="how long make fuzz runs (1800)")
    parser.add_argument("--soak-seconds", type=int, default=1800, help="how long the soak runs (1800)")
    parser.add_argument("--skip", default="", help="parts not to run, of swift,fuzz,soak (the report says so)")
    parser.add_argument("--swift", default="swift")
    parser.add_argument("--out", default=os.path.join(ROOT, "docs"), help="where to write proof.md")
    args = parser.parse_args()
    skipped = {part for part in args.skip.split(",") if part}
    if skipped - set(PARTS):
        parser.error(f"--skip takes {', '.join(PARTS)}")
    binary = os.path.abspath(args.binary)
    require_root("make prove")
    install_signal_handlers()
    scratch = os.path.join(ROOT, ".build", "prove")
    shutil.rmtree(scratch, ignore_errors=True)
    os.makedirs(scratch)
    started = time.monotonic()
    info = machine()
    info["date"] = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    info["binary"] = os.path.relpath(binary, ROOT)
    results = {"skipped": sorted(skipped), "settings": vars(args)}
    fuzz = None
    try:
        if "swift" not in skipped:
            results["swift"] = run_swift_tests(args.swift, scratch, args.configs, progress)
        if "fuzz" not in skipped:
            fuzz = FuzzRun(scratch, args.fuzz_seconds, progress)
        if "soak" not in skipped:
            try:
                results["soak"] = run_soak(binary, scratch, f"{PREFIX}-soak", args.soak_seconds, progress)
            except RuntimeError as error:  # a lab command failed, or run ended: the report says so
                results["soak"] = {"error": str(error)}
        if fuzz:
            results["fuzz"] = fuzz.finish(progress)
    finally:
        if fuzz:
            fuzz.stop()
        remove_namespaces(PREFIX)
    elapsed = time.monotonic() - started
    passed = write_report(args.out, info, results, elapsed)
    progress(f"Wrote {os.path.relpath(os.path.join(args.out, 'proof.md'), ROOT)} in {elapsed / 60:.1f} minutes: "
             + ("every part passed" if passed else "a part FAILED (see the report)")
             + (f"; not run: {', '.join(sorted(skipped))}" if skipped else "") + "; labs removed.")
    return 0 if passed else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("\ninterrupted; the labs were removed, make fuzz ended; nothing was written", file=sys.stderr)
        sys.exit(130)
    except RuntimeError as error:  # a lab command failed (or died of the same Ctrl-C first)
        print(f"\nprove failed: {error}\nthe labs were removed; nothing was written", file=sys.stderr)
        sys.exit(1)
