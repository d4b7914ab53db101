"""`make fuzz` for a given time, started in the background (in parallel with the soak) in its own
process group, so that an interrupted prove ends it and everything it started."""
import json
import os
import signal
import subprocess
import time

from ..benchlib.harness import ROOT


class FuzzRun:
    def __init__(self, scratch, seconds, progress):
        self.seconds = seconds
        self.summary = os.path.join(scratch, "fuzz.json")
        self.log = os.path.join(scratch, "fuzz.log")
        if os.path.exists(self.summary):
            os.unlink(self.summary)
        progress(f"fuzz: make fuzz for {seconds} s in the background; output in {os.path.relpath(self.log, ROOT)}")
        self.started = time.monotonic()
        with open(self.log, "w") as out:
            self.process = subprocess.Popen(["make", "--no-print-directory", "fuzz", f"FUZZ_SECONDS={seconds}",
                                             f"FUZZ_SUMMARY={self.summary}"], cwd=ROOT, stdout=out,
                                            stderr=subprocess.STDOUT, start_new_session=True)

    def finish(self, progress):
        """Waits for it (the fuzzing time plus an hour for its build at most) and returns its data."""
        if self.process.poll() is None:
            progress("fuzz: waiting for make fuzz to end")
        try:
            status = self.process.wait(timeout=max(60, self.seconds - (time.monotonic() - self.started)) + 3600)
        except subprocess.TimeoutExpired:
            self.stop()
            status = None
        result = {"seconds_asked": self.seconds, "status": status, "wall_seconds": time.monotonic() - self.started,
                  "log": os.path.relpath(self.log, ROOT), "summary": None}
        try:
            with open(self.summary) as f:
                result["summary"] = json.load(f)
        except FileNotFoundError:
            pass
        except ValueError as error:
            result["summary"] = {"unreadable": f"not JSON: {error}"}
        with open(self.log, errors="replace") as f:
            result["log_tail"] = f.read().splitlines()[-15:]
        findings = (result["summary"] or {}).get("findings") if isinstance(result["summary"], dict) else None
        result["passed"] = (status == 0 and isinstance(result["summary"], dict)
                            and "unreadable" not in result["summary"] and not findings)
        return result

    def stop(self):
        """Ends make fuzz and what it started (its process group), if it still runs."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
