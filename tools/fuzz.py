#!/usr/bin/env python3
"""make fuzz: runs the libFuzzer target UplinkFuzz (config reader and checker) for a given time.

    python3 tools/fuzz.py BINARY --seconds N [--summary PATH]

The seeds (examples/*.yaml and the bad-config corpus) are copied into a scratch corpus
(.build-fuzz/corpus, kept between runs so that they build on each other, and merged down to the
inputs that add coverage after each); findings go to
.build-fuzz/artifacts. libFuzzer stops at the first crash, hang (over 1 s on one input), leak or
memory error. At the end it prints a summary (seconds, runs, exec/s, corpus size, coverage and
features at the start and end, findings) and writes it as JSON to PATH if given. Exit status 0
when nothing was found, 1 otherwise.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRATCH = ROOT / ".build-fuzz"
DICTIONARY = ROOT / "Tests/UplinkCoreTests/Fixtures/fuzz/config.dict"
SEEDS = [ROOT / "examples", ROOT / "Tests/UplinkCoreTests/Fixtures/bad"]
# Twice the largest seed: room for more uplinks, policies and services than any example has.
MAX_LEN = 4096
# A hang is over a second on one input; the process may use at most this much memory.
TIMEOUT_SECONDS = 1
RSS_LIMIT_MB = 2048
# libFuzzer's progress lines: "#4096 pulse cov: 5120 ft: 20480 corp: 300/90Kb ... exec/s: 1365 rss: 80Mb".
STATUS = re.compile(r"^#(\d+)\s+(\w+)\s+cov: (\d+) ft: (\d+) corp: (\d+)/")
FINAL = re.compile(r"^stat::(\w+):\s+(\d+)")
ARTIFACT = re.compile(r"Test unit written to (\S+)")
REPORT = re.compile(r"ERROR: (libFuzzer|AddressSanitizer|LeakSanitizer): ([^\n]*)")
# The Swift runtime's own crash handler would hide the sanitizer's report of a crash.
ENVIRONMENT = dict(os.environ, SWIFT_BACKTRACE="enable=no")


def prepare(corpus: Path, artifacts: Path) -> int:
    """Copies the seeds into the corpus; returns how many."""
    corpus.mkdir(parents=True, exist_ok=True)
    artifacts.mkdir(parents=True, exist_ok=True)
    seeds = [path for folder in SEEDS for path in sorted(folder.glob("*.yaml"))]
    for path in seeds:
        shutil.copyfile(path, corpus / f"seed-{path.parent.name}-{path.name}")
    return len(seeds)


def command(binary: str, seconds: int, corpus: Path, artifacts: Path) -> list:
    return [binary, str(corpus), f"-dict={DICTIONARY}", f"-max_len={MAX_LEN}", f"-timeout={TIMEOUT_SECONDS}",
            f"-rss_limit_mb={RSS_LIMIT_MB}", f"-max_total_time={seconds}", f"-artifact_prefix={artifacts}/",
            "-print_final_stats=1", "-detect_leaks=1"]


def run(arguments: list, log: Path) -> dict:
    """Runs libFuzzer, passing its output through, and collects its figures."""
    facts = {"first": None, "last": None, "final": {}, "artifacts": [], "reports": [], "modules": None}
    started = time.monotonic()
    quiet = False
    with open(log, "w") as out:
        process = subprocess.Popen(arguments, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                   errors="replace", env=ENVIRONMENT)
        for line in process.stdout:
            out.write(line)
            # Progress at powers of two only, not every new input, nor the dictionary libFuzzer proposes.
            status = STATUS.match(line)
            quiet = quiet or "Recommended dictionary" in line
            if not quiet and (not status or status[2] in ("INITED", "pulse", "DONE")):
                sys.stdout.write(line)
                sys.stdout.flush()
            quiet = quiet and "End of recommended dictionary" not in line
            collect(line, facts)
        facts["status"] = process.wait()
    facts["seconds"] = round(time.monotonic() - started, 1)
    return facts


def collect(line: str, facts: dict):
    if match := STATUS.match(line):
        figures = {"runs": int(match[1]), "cov": int(match[3]), "ft": int(match[4]), "corpus": int(match[5])}
        if match[2] == "INITED":
            facts["first"] = figures
        facts["last"] = figures
    elif match := FINAL.match(line):
        facts["final"][match[1]] = int(match[2])
    elif match := ARTIFACT.search(line):
        facts["artifacts"].append(match[1])
    elif match := REPORT.search(line):
        facts["reports"].append(f"{match[1]}: {match[2]}")
    elif line.startswith("uplinkctl fuzz: "):
        # A promise of the checker broken (ConfigFuzzing.violated).
        facts["reports"].append(line.strip())
    elif line.startswith("INFO: Loaded") and "counters" in line:
        facts["modules"] = line.strip()


def merge(binary: str, corpus: Path, log: Path):
    """Keeps in the corpus only inputs that add coverage: libFuzzer leaves on disk every input it
    loaded, though most add nothing, and the next run would read them all again."""
    merged = corpus.with_name("corpus.merged")
    shutil.rmtree(merged, ignore_errors=True)
    merged.mkdir()
    arguments = [binary, "-merge=1", f"-max_len={MAX_LEN}", f"-timeout={TIMEOUT_SECONDS}",
                 f"-rss_limit_mb={RSS_LIMIT_MB}", str(merged), str(corpus)]
    with open(log, "a") as out:
        status = subprocess.run(arguments, stdout=out, stderr=subprocess.STDOUT, env=ENVIRONMENT).returncode
    if status == 0 and any(merged.iterdir()):
        shutil.rmtree(corpus)
        merged.rename(corpus)


def summary(facts: dict, corpus: Path, seeds: int, seconds: int) -> dict:
    first = facts["first"] or {}
    last = facts["last"] or {}
    runs = facts["final"].get("number_of_executed_units", last.get("runs", 0))
    # libFuzzer stops at the first finding: its report, and the input it wrote.
    reports, artifacts = facts["reports"], facts["artifacts"]
    # A broken promise aborts: libFuzzer's "deadly signal" after it adds nothing.
    if reports and reports[0].startswith("uplinkctl fuzz: "):
        reports = [report for report in reports if not report.endswith("deadly signal")]
    findings = [{"report": reports[i] if i < len(reports) else None,
                 "artifact": artifacts[i] if i < len(artifacts) else None}
                for i in range(max(len(reports), len(artifacts)))]
    if facts["status"] != 0 and not findings:
        findings.append({"report": f"libFuzzer exited with status {facts['status']}", "artifact": None})
    return {
        "seconds_asked": seconds,
        "seconds": facts["seconds"],
        "runs": runs,
        "exec_per_second": facts["final"].get("average_exec_per_sec", 0),
        "seeds": seeds,
        "corpus_inputs": last.get("corpus", 0),
        "corpus_files": sum(1 for _ in corpus.iterdir()),
        "cov_at_start": first.get("cov"),
        "cov": last.get("cov"),
        "ft_at_start": first.get("ft"),
        "ft": last.get("ft"),
        "new_units": facts["final"].get("new_units_added"),
        "peak_rss_mb": facts["final"].get("peak_rss_mb"),
        "instrumentation": facts["modules"],
        "findings": findings,
    }


def show(result: dict) -> str:
    found = "; ".join(f"{f['report']} ({f['artifact']})" for f in result["findings"]) or "none"
    return (f"fuzz: {result['seconds']} s, {result['runs']} runs ({result['exec_per_second']} exec/s), "
            f"corpus {result['corpus_inputs']} inputs ({result['corpus_files']} files, {result['seeds']} seeds), "
            f"cov {result['cov_at_start']} -> {result['cov']}, ft {result['ft_at_start']} -> {result['ft']}, "
            f"findings: {found}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("binary")
    parser.add_argument("--seconds", type=int, default=1800)
    parser.add_argument("--summary", help="also write the summary as JSON here")
    options = parser.parse_args()
    corpus = SCRATCH / "corpus"
    artifacts = SCRATCH / "artifacts"
    seeds = prepare(corpus, artifacts)
    log = SCRATCH / "fuzz.log"
    facts = run(command(options.binary, options.seconds, corpus, artifacts), log)
    # Worth it when the files on disk are well beyond the inputs libFuzzer kept.
    kept = (facts["last"] or {}).get("corpus", 0)
    if facts["status"] == 0 and sum(1 for _ in corpus.iterdir()) > 1.5 * kept:
        merge(options.binary, corpus, log)
    result = summary(facts, corpus, seeds, options.seconds)
    print(show(result))
    if options.summary:
        Path(options.summary).write_text(json.dumps(result, indent=2) + "\n")
    # Instrumented means coverage was counted at all: no counters, no fuzzing.
    if not result["cov"]:
        print("fuzz: no coverage counted: the binary is not instrumented", file=sys.stderr)
        sys.exit(1)
    sys.exit(1 if result["findings"] else 0)


if __name__ == "__main__":
    main()
