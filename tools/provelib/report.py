"""docs/proof.md: the machine, a summary of every part's verdict, then each part's figures, all
from this run. Returns whether every part that ran passed."""
import os

from ..benchlib.stats import percentile, slope
from ..benchlib.targets import targets_line
from .render import markdown
from .swifttests import FILTER, REPORTS

# The soak's verdicts on "flat": descriptors after the first minute (start-up done) never more
# than this above where they were then; resident memory growing less than this over the second
# half, by its least-squares line (a leak of half a kB per event shows over 30 minutes).
FD_MARGIN = 2
RSS_GROWTH_LIMIT_KB = 256
TITLES = {"equivalence.json": "Random-config equivalence", "faultpoints.json": "Every fault point",
          "concurrency.json": "Concurrency"}
KINDS = (("flap down", "up2's far end down"), ("flap up", "up2's far end up"), ("delete", "up3 deleted"),
         ("recreate", "up3 made again"))


def header(info, elapsed, results):
    settings = results["settings"]
    return ["# uplinkctl under stress", "",
            f"Measured {info['date']} by `make prove` (tools/prove.py) in {elapsed / 60:.1f} minutes: the Swift proof "
            f"tests with {settings['configs']} random configs, `make fuzz` for {settings['fuzz_seconds']} s and, at "
            f"the "
            f"same time, a soak of `uplinkctl run` for {settings['soak_seconds']} s. To rerun, as root in a checkout: "
            "`make prove` (PROVE_CONFIGS, PROVE_FUZZ_SECONDS, PROVE_SOAK_SECONDS); it rewrites this file. Every figure "
            "below was measured in that run.", "",
            f"- {info['cores']} cores ({info['cpu']}), kernel {info['kernel']}",
            f"- uplinkctl {info['commit']} (`{info['binary']}`)",
            "- The labs ran in network namespaces `ulk-prove-PID-*` (and the tests' own) that were made and removed "
            "for it; the machine's own network was not touched.", ""]


def verdict(part, results):
    if part in results["skipped"]:
        return "not run (skipped)"
    return "passed" if results[part].get("passed") else "**FAILED**"


def swift_section(result):
    status = ("the build of the tests failed" if result["build_status"] != 0
              else f"`swift test` exited {result['test_status']}")
    md = ["## 1. The Swift proof tests", "",
          f"`swift build --build-tests`, then `swift test --skip-build --filter '{FILTER}'` with "
          f"UPLINKCTL_PROVE_CONFIGS={result['configs']}: {status}, in {result['seconds'] / 60:.1f} minutes "
          f"(output in {result['log']})."
          + (" " + "; ".join(line.rstrip(".") for line in result["summary"]) + "." if result["summary"] else ""), ""]
    if result["failures"]:
        md += ["Failed:", ""] + [f"- `{line}`" for line in result["failures"]] + [""]
    for number, name in enumerate(REPORTS, start=1):
        report = result["reports"].get(name)
        md += [f"### 1.{number}. {TITLES[name]} ({name})", ""]
        if report is None:
            md += [f"**Missing**: the tests did not write {name} (no test of that name ran, or it failed before "
                   "writing it; see the log).", ""]
        else:
            md += markdown(report) + [""]
    return md


def fuzz_section(result):
    summary = result["summary"]
    md = ["## 2. Fuzzing", "",
          f"`make fuzz FUZZ_SECONDS={result['seconds_asked']}`, run in parallel with the soak: exited "
          f"{'(stopped: it overran its time by an hour)' if result['status'] is None else result['status']} after "
          f"{result['wall_seconds'] / 60:.1f} minutes (output in {result['log']}).", ""]
    if summary is None:
        md += ["**Missing**: make fuzz wrote no summary. The end of its output:", "", "```"]
        md += result["log_tail"] + ["```", ""]
    else:
        md += markdown(summary) + [""]
    return md


def events_table(events):
    md = ["| event | induced | its transition logged within the bound | with the event's reason | missed: late "
          "/ never | delay p50 / p90 / p99 / max |", "|---|---|---|---|---|---|"]
    for action, name in KINDS:
        rows = [e for e in events if e["action"] == action]
        delays = [e["delay"] * 1000 for e in rows if e["delay"] is not None]
        timing = (f"{percentile(delays, 0.5):.0f} / {percentile(delays, 0.9):.0f} / {percentile(delays, 0.99):.0f} / "
                  f"{max(delays):.0f} ms" if delays else "-")
        reasons = sum(1 for e in rows if e["reason"])
        late = sum(1 for e in rows if e["missed"] and e["delay"] is not None)
        never = sum(1 for e in rows if e["delay"] is None)
        md.append(f"| {name} | {len(rows)} | {len(rows) - late - never} | {reasons} | {late} / {never} | {timing} |")
    return md


def samples_table(samples, rows=8):
    """About `rows` samples, evenly spread, the first and the last among them."""
    step = max(1, (len(samples) - 1) // (rows - 1))
    picked = samples[::step]
    if picked[-1] is not samples[-1]:
        picked.append(samples[-1])
    md = ["| time | open descriptors | resident memory | CPU time so far |", "|---|---|---|---|"]
    for s in picked:
        md.append(f"| {s['t']:.0f} s | {s['fds']} | {s['rss_kb']:,} kB | {s['cpu_s']:.2f} s |")
    return md


def soak_figures(soak):
    """The soak's verdicts and derived figures."""
    samples = soak["samples"]
    warm = [s for s in samples if s["t"] >= 60] or samples
    second_half = [s for s in samples if s["t"] >= samples[-1]["t"] / 2]
    per_hour = 3600.0
    fds_slope = slope([(s["t"], s["fds"]) for s in samples]) * per_hour
    rss_slope = slope([(s["t"], s["rss_kb"]) for s in samples]) * per_hour
    rss_slope_late = slope([(s["t"], s["rss_kb"]) for s in second_half]) * per_hour
    rss_growth_late = rss_slope_late * (second_half[-1]["t"] - second_half[0]["t"]) / per_hour
    cpu = samples[-1]["cpu_s"] - samples[0]["cpu_s"]
    span = samples[-1]["t"] - samples[0]["t"]
    missed = [e for e in soak["events"] if e["missed"]]
    fd_base = warm[0]["fds"]
    return {"fds_slope": fds_slope, "rss_slope": rss_slope, "rss_slope_late": rss_slope_late,
            "cpu": cpu, "cpu_per_hour": cpu / span * per_hour if span else 0.0, "span": span, "missed": missed,
            "fd_base": fd_base, "fd_max": max(s["fds"] for s in warm),
            "verdicts": [
                (f"every induced event's transition logged within {soak['bound']:.1f} s "
                 f"({len(soak['events']) - len(missed)} of {len(soak['events'])})", not missed),
                (f"no transition that no event explains ({len(soak['unexplained'])})", not soak["unexplained"]),
                (f"up3's routes back before each deletion and at the end "
                 f"({sum(soak['route_checks'])} of {len(soak['route_checks'])})", all(soak["route_checks"])),
                (f"at the end, the kernel holds exactly the config's plan (`uplinkctl diff` exited "
                 f"{soak['diff']['status']})", soak["diff"]["status"] == 0),
                (f"open descriptors flat: after the first minute never more than {FD_MARGIN} above the "
                 f"{fd_base} then (max {max(s['fds'] for s in warm)})",
                 max(s["fds"] for s in warm) <= fd_base + FD_MARGIN),
                (f"resident memory flat: it grows less than {RSS_GROWTH_LIMIT_KB} kB over the second half "
                 f"({rss_growth_late:+,.0f} kB)", rss_growth_late < RSS_GROWTH_LIMIT_KB)]}


def soak_section(soak):
    md = ["## 3. Soak", ""]
    if "error" in soak:
        return md + [f"**FAILED**: {soak['error']}", ""]
    figures = soak_figures(soak)
    events = soak["events"]
    md += [f"`uplinkctl run` for {soak['seconds']} s ({soak['wall_seconds']:.0f} s of wall time measured) in a lab of "
           "three uplinks (tools/lab.py), `examples/lab.yaml`'s shape, every uplink probing the server behind the "
           "gateways at the defaults (a round every 150 ms, out after 4 lost rounds, back after 3 answered). "
           "At the same time (the fuzzer shares the machine):", "",
           f"- **up1 loses 10%**: an nft rule in gateway 1's namespace drops one forwarded packet in ten at random, "
           f"both ways (`numgen random mod 10 0 drop`; this kernel has no netem): {soak['dropped']:,} packets dropped. "
           "run must keep it in the rotation (a round fails only when both its probes or their answers are lost).",
           f"- **up2 flaps**: every {soak['flap_every']:.0f} s the far end of its link (gateway 2's veth) is set down "
           "or up again: the host's up2 loses its carrier, then has it back. (Not up1: its veth and the far end have "
           "the same ifindex, each in its namespace, and the kernel's linkwatch then reports its carrier changes up "
           "to a second late, as it does for a physical NIC; that would time the kernel, not run.)",
           f"- **up3 vanishes**: every {soak['recreate_every']:.0f} s its interface is deleted (the veth pair) and "
           f"{soak['recreate_gap']:.0f} s later made again with its address, so that run must install its routes "
           "again and probe through the new interface.", "",
           f"Each induced event (its time taken just before the command that causes it) is matched to run's log line "
           f"of the transition it must cause (`uplink up2 down: carrier lost`, `uplink up3 up: 3 rounds answered`, "
           f"...), by the line's own time stamp: the first such line from the event on and before the uplink's next "
           f"event. An event whose line comes later than {soak['bound']:.1f} s (late) or not at all (never) is "
           "missed. The delay is from the event to the line (the delays of late lines included); \"with the "
           "event's reason\" counts the lines within the bound that give the "
           "reason the event must cause (carrier lost, interface missing, rounds answered) rather than, say, lost "
           "probe rounds.", ""]
    md += events_table(events) + [""]
    if soak["unexplained"]:
        md += [f"Transitions that no event explains ({len(soak['unexplained'])}):", ""]
        md += [f"- `{line}`" for line in soak["unexplained"][:20]] + [""]
    if figures["missed"]:
        md += [f"Missed events ({len(figures['missed'])}), the first of them:", ""]
        md += [f"- {e['t']:.1f} s: {e['action']} {e['uplink']}: "
               + ("no transition before the uplink's next event" if e["delay"] is None
                  else f"its transition logged {e['delay']:.2f} s after it") for e in figures["missed"][:20]] + [""]
    md += [f"run's process, sampled every {soak['samples'][1]['t'] - soak['samples'][0]['t']:.0f} s "
           f"({len(soak['samples'])} samples; /proc/PID/fd, VmRSS, utime + stime):", ""]
    md += samples_table(soak["samples"]) + [""]
    md += [f"Least-squares slopes over the whole run: open descriptors {figures['fds_slope']:+.2f} an hour, resident "
           f"memory {figures['rss_slope']:+,.0f} kB an hour ({figures['rss_slope_late']:+,.0f} kB an hour over the "
           f"second half). CPU time: {figures['cpu']:.1f} s in {figures['span']:.0f} s, "
           f"{figures['cpu_per_hour']:.0f} s an hour ({100 * figures['cpu'] / figures['span']:.2f}% of one core), "
           f"for {len(events)} events and {soak['log_lines']} log lines.", ""]
    if soak["errors"]:
        md += [f"run logged {len(soak['errors'])} errors:", ""] + [f"- `{line}`" for line in soak["errors"][:10]] + [""]
    if soak["diff"]["status"] != 0:
        md += ["`uplinkctl diff` at the end:", "", "```", soak["diff"]["output"], "```", ""]
    md += [targets_line(figures["verdicts"]), ""]
    return md


def soak_passed(soak):
    return "error" not in soak and all(ok for _, ok in soak_figures(soak)["verdicts"])


def write_report(out_dir, info, results, elapsed):
    """Writes proof.md; returns whether every part that ran passed."""
    if "soak" in results:
        results["soak"]["passed"] = soak_passed(results["soak"])
    parts = (("swift", "Swift proof tests (equivalence, fault points, concurrency)"), ("fuzz", "Fuzzing"),
             ("soak", "Soak"))
    md = header(info, elapsed, results)
    md += ["## Summary", "", "| part | verdict |", "|---|---|"]
    md += [f"| {name} | {verdict(part, results)} |" for part, name in parts] + [""]
    md += swift_section(results["swift"]) if "swift" in results else ["## 1. The Swift proof tests", "", "Not run.", ""]
    md += fuzz_section(results["fuzz"]) if "fuzz" in results else ["## 2. Fuzzing", "", "Not run.", ""]
    md += soak_section(results["soak"]) if "soak" in results else ["## 3. Soak", "", "Not run.", ""]
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "proof.md"), "w") as f:
        f.write("\n".join(md))
    return all(results[part].get("passed") for part, _ in parts if part in results)
