"""The Swift proof tests: built, then run with UPLINKCTL_PROVE_CONFIGS (how many random configs)
and UPLINKCTL_PROVE_REPORT_DIR, where they write equivalence.json, faultpoints.json and
concurrency.json. Their output goes to a log; the lines that say a test passed or failed are
shown as they come."""
import json
import os
import subprocess
import time

from ..benchlib.harness import ROOT

FILTER = "RandomConfigEquivalenceTests|FaultPointTests|ConcurrencyLabTests"
REPORTS = ("equivalence.json", "faultpoints.json", "concurrency.json")
# Swift Testing's marks for a test that passed or failed, and the closing summary lines.
SHOWN = ("✔", "✘", "Test run with", "Executed ", "error:")


def logged(command, log, env=None, progress=None):
    """Runs `command` in the checkout, its output appended to `log` (and the SHOWN lines to
    `progress`); returns its exit status."""
    with open(log, "a") as out:
        out.write(f"$ {' '.join(command)}\n")
        out.flush()
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   text=True, errors="replace")
        try:
            for line in process.stdout:
                out.write(line)
                if progress and line.lstrip().startswith(SHOWN):
                    progress("  " + line.strip())
        finally:
            if process.poll() is None:
                process.kill()
            process.wait()
    return process.returncode


def run_swift_tests(swift, scratch, configs, progress):
    """Builds the tests and runs the proof tests; returns their status, time and reports."""
    reports_dir = os.path.join(scratch, "swift-reports")
    os.makedirs(reports_dir, exist_ok=True)
    log = os.path.join(scratch, "swift-tests.log")
    progress(f"swift proof tests ({FILTER}), {configs} random configs; output in {os.path.relpath(log, ROOT)}")
    started = time.monotonic()
    build = logged([swift, "build", "--build-tests"], log)
    result = {"filter": FILTER, "configs": configs, "log": os.path.relpath(log, ROOT), "build_status": build,
              "test_status": None, "reports": {}, "summary": []}
    if build == 0:
        env = dict(os.environ, UPLINKCTL_PROVE_CONFIGS=str(configs), UPLINKCTL_PROVE_REPORT_DIR=reports_dir)
        result["test_status"] = logged([swift, "test", "--skip-build", "--filter", FILTER], log, env, progress)
    result["seconds"] = time.monotonic() - started
    with open(log, errors="replace") as f:
        lines = f.read().splitlines()
    result["summary"] = [line.strip() for line in lines
                         if "Test run with" in line or line.lstrip().startswith("Executed ")]
    result["failures"] = [line.strip() for line in lines if line.lstrip().startswith("✘")][:40]
    for name in REPORTS:
        path = os.path.join(reports_dir, name)
        try:
            with open(path) as f:
                result["reports"][name] = json.load(f)
        except FileNotFoundError:
            result["reports"][name] = None
        except ValueError as error:
            result["reports"][name] = {"unreadable": f"{name} is not JSON: {error}"}
    readable = all(isinstance(r, (dict, list)) and not (isinstance(r, dict) and "unreadable" in r)
                   for r in result["reports"].values())
    result["passed"] = build == 0 and result["test_status"] == 0 and readable
    return result
