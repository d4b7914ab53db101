import Foundation
import TestSupport
import Testing

@testable import UplinkCore

/// Many uplinkctl processes on one namespace at once (real processes, released together from
/// a barrier: Support/ConcurrentCommands.swift). Two applies never interleave (the namespace's
/// lock: the later one waits, saying so); while `uplinkctl run` manages the namespace, apply
/// and flush refuse before touching anything (run would put its own state back at its next
/// reaction, so a change by hand could only half-last), and run keeps its state through a
/// flapping link. The end state is always exactly one config's, never a mix. With
/// UPLINKCTL_PROVE_REPORT_DIR, the figures go to concurrency.json.
@Suite(
    "concurrent commands on one namespace", .serialized,
    .enabled(if: Namespaces.enabled, "needs root and network namespaces"))
struct ConcurrencyLabTests {
    static let first = try! Paths.read(Paths.examples.appendingPathComponent("lab.yaml"))
    /// Touches every kind of object examples/lab.yaml has, and a service with route_localnet.
    static let second = ConfirmLabTests.change
    static let applies = 20
    static let report = ProveReport("concurrency.json")

    /// How each of the started applies ended.
    struct Outcomes {
        var applied = 0
        var inSync = 0
        var busy = 0
        var refusedForRun = 0
        var waited = 0
        var unexpected: [String] = []

        static let waiting = "uplinkctl: waiting for another uplinkctl working on this namespace…"

        init(_ results: [ShellResult], runPid: Int32? = nil) {
            for (index, result) in results.enumerated() {
                let lines = result.stderr.split(separator: "\n").map(String.init)
                if lines.contains(Self.waiting) { waited += 1 }
                if result.status == 0 && result.stdout.contains("uplinkctl: applied ") {
                    applied += 1
                } else if result.status == 0 && result.stdout.contains("; nothing changed") {
                    inSync += 1
                } else if result.status == 1
                    && lines == ["uplinkctl: another uplinkctl is changing this namespace; nothing was changed"]
                {
                    busy += 1
                } else if result.status == 1, let runPid, lines.count == 1,
                    lines[0].hasPrefix("uplinkctl: uplinkctl run (pid \(runPid)) manages this namespace"),
                    lines[0].hasSuffix("; nothing was changed")
                {
                    refusedForRun += 1
                } else {
                    unexpected.append("apply \(index): exit \(result.status)\n\(result.stdout)\(result.stderr)")
                }
            }
        }

        var row: [String: Any] {
            [
                "applied": applied, "in_sync": inSync, "refused_lock_busy": busy, "refused_run_manages": refusedForRun,
                "waited_for_the_lock": waited, "unexpected": unexpected.count
            ]
        }
    }

    static func snapshot(_ lab: Lab) throws -> KernelSnapshot {
        try KernelSnapshot(lab.host, sysctls: ConfirmLabTests.watched)
    }

    /// `applies` applies of the two configs in turn, started together.
    static func applyStorm(_ lab: Lab, _ paths: [String]) throws -> [ShellResult] {
        try ConcurrentCommands.run(
            (0..<applies).map { [Paths.uplinkctl.path, "apply", "--netns", lab.host, paths[$0 % 2]] })
    }

    /// Which of the configs `diff` finds in sync (exit 0); each must be either in sync or differ (exit 1).
    static func inSync(_ lab: Lab, _ paths: [String]) throws -> [Int] {
        try paths.indices.filter { index in
            let diff = try UplinkctlCLI.run(["diff", "--netns", lab.host, paths[index]])
            #expect(diff.status == 0 || diff.status == 1, "\(diff.stderr)")
            return diff.status == 0
        }
    }

    @Test("twenty applies of two configs at once: each applied in turn, the end state exactly one config's")
    func applyStorm() throws {
        let started = Date()
        try Lab.with { lab in
            try UplinkctlCLI.withConfig(Self.first) { first in
                try UplinkctlCLI.withConfig(Self.second) { second in
                    let paths = [first, second]
                    let pristine = try Self.snapshot(lab)
                    let results = try Self.applyStorm(lab, paths)
                    let outcomes = Outcomes(results)
                    #expect(outcomes.unexpected.isEmpty, "\(outcomes.unexpected.joined(separator: "\n"))")
                    #expect(outcomes.applied + outcomes.inSync + outcomes.busy == Self.applies)
                    // The CLI's apply waits for the lock: none is refused, and all but the first waited.
                    #expect(outcomes.applied >= 1 && outcomes.busy == 0, "\(outcomes.row)")
                    let final = try Self.snapshot(lab)
                    let synced = try Self.inSync(lab, paths)
                    #expect(synced.count == 1, "in sync with configs \(synced)")
                    let winner = try #require(synced.first)
                    // What a clean apply of that config gives: the same objects (an nft table
                    // changed back and forth lists them in another order, and rules put back come
                    // after the others of their priority).
                    let flushed = try UplinkctlCLI.run(["flush", "--netns", lab.host])
                    #expect(flushed.status == 0, "\(flushed.stderr)")
                    let emptied = try Self.snapshot(lab)
                    #expect(emptied == pristine, "flush after the storm left:\n\(emptied.difference(from: pristine))")
                    try #require(try UplinkctlCLI.run(["apply", "--netns", lab.host, paths[winner]]).status == 0)
                    let clean = try Self.snapshot(lab)
                    #expect(
                        final.sameContent(as: clean),
                        "the storm's end state is not a clean apply's:\n\(final.difference(from: clean))")
                    var row = outcomes.row
                    row["started"] = Self.applies
                    row["final_config"] = winner == 0 ? "examples/lab.yaml" : "ConfirmLabTests.change"
                    row["final_state_is_one_config"] = synced.count == 1 && final.sameContent(as: clean)
                    row["seconds"] = (Date().timeIntervalSince(started) * 10).rounded() / 10
                    try Self.report.add(row, to: "applies")
                }
            }
        }
    }

    /// A gateway's link down for `down` seconds then up for `up`, `cycles` times, in the
    /// background. Up long enough for run's probes to bring the uplink back (3 rounds of 150 ms,
    /// once the gateway's address is resolved again).
    static func flapping(_ lab: Lab, gateway n: Int, cycles: Int, down: Double = 0.5, up: Double = 1.5) throws
        -> Process
    {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        let link = "ip -n \(lab.gateways[n - 1]) link set dn"
        process.arguments = [
            "-c", "for i in $(seq \(cycles)); do \(link) down; sleep \(down); \(link) up; sleep \(up); done"
        ]
        try process.run()
        return process
    }

    /// Waits for the flapping to end, then for run to have every uplink back (diff in sync).
    static func settle(_ flapping: Process, _ lab: Lab, _ path: String) throws -> Bool {
        flapping.waitUntilExit()
        let deadline = Date().addingTimeInterval(15)
        while Date() < deadline {
            if try UplinkctlCLI.run(["diff", "--netns", lab.host, path]).status == 0 { return true }
            usleep(100_000)
        }
        return false
    }

    static func reactions(_ run: RunningUplinkctl, uplink: String) -> (down: Int, up: Int) {
        let lines = run.text.split(separator: "\n")
        return (
            lines.filter { $0.contains("uplink \(uplink) down") }.count,
            lines.filter { $0.contains("uplink \(uplink) up") }.count
        )
    }

    @Test("twenty applies while run reacts to a flapping link: each refused, run's state whole at the end")
    func applyStormDuringRun() throws {
        let started = Date()
        try Lab.with { lab in
            try UplinkctlCLI.withConfig(Self.first) { first in
                try UplinkctlCLI.withConfig(Self.second) { second in
                    try RunningUplinkctl.with(host: lab.host, config: first) { run in
                        // `with` has waited for its start line.
                        let installed = try Self.snapshot(lab)
                        let flapping = try Self.flapping(lab, gateway: 3, cycles: 3)
                        try run.waitFor("uplink up3 down")
                        let results = try Self.applyStorm(lab, [first, second])
                        let outcomes = Outcomes(results, runPid: run.process.processIdentifier)
                        #expect(outcomes.unexpected.isEmpty, "\(outcomes.unexpected.joined(separator: "\n"))")
                        #expect(outcomes.refusedForRun == Self.applies, "\(outcomes.row)")
                        #expect(
                            try Self.settle(flapping, lab, first), "run did not get every uplink back:\n\(run.text)")
                        let reactions = Self.reactions(run, uplink: "up3")
                        #expect(reactions.down >= 2 && reactions.up >= 2, "\(run.text)")
                        let final = try Self.snapshot(lab)
                        #expect(try Self.inSync(lab, [first, second]) == [0])
                        #expect(final.sameContent(as: installed), "\(final.difference(from: installed))")
                        #expect(run.process.isRunning)
                        var row = outcomes.row
                        row["started"] = Self.applies
                        row["final_config"] = "examples/lab.yaml (run's)"
                        row["final_state_is_one_config"] = final.sameContent(as: installed)
                        row["run_reactions_down"] = reactions.down
                        row["run_reactions_up"] = reactions.up
                        row["seconds"] = (Date().timeIntervalSince(started) * 10).rounded() / 10
                        try Self.report.add(row, to: "applies_during_run")
                    }
                }
            }
        }
    }

    /// What a careful user expects of `flush` while run manages the namespace: not a removal
    /// that run undoes at its next reaction, but a refusal that says to stop run first (or give
    /// it --flush-on-exit), with the kernel left as run keeps it. Once run has stopped, flush
    /// removes everything.
    @Test("flush while run reacts to a flapping link: refused, naming run; run's state whole; after run, flush clears")
    func flushDuringRun() throws {
        let started = Date()
        try Lab.with { lab in
            try UplinkctlCLI.withConfig(Self.first) { path in
                let pristine = try Self.snapshot(lab)
                var row: [String: Any] = [:]
                try RunningUplinkctl.with(host: lab.host, config: path) { run in
                    let installed = try Self.snapshot(lab)
                    let pid = run.process.processIdentifier
                    let flapping = try Self.flapping(lab, gateway: 2, cycles: 3)
                    try run.waitFor("uplink up2 down")
                    let flushes = try ConcurrentCommands.run(
                        (0..<5).map { _ in [Paths.uplinkctl.path, "flush", "--netns", lab.host] })
                    let refusal =
                        "uplinkctl: uplinkctl run (pid \(pid)) manages this namespace and would put everything back; "
                        + "stop it first: kill \(pid) (or systemctl stop uplinkctl), and give it --flush-on-exit "
                        + "to remove everything as it ends; nothing was changed\n"
                    let refused = flushes.filter { $0.status == 1 && $0.stderr == refusal }
                    #expect(
                        refused.count == flushes.count, "\(flushes.map { "\($0.status) \($0.stdout)\($0.stderr)" })")
                    #expect(try Self.settle(flapping, lab, path), "run did not get every uplink back:\n\(run.text)")
                    let final = try Self.snapshot(lab)
                    #expect(final.sameContent(as: installed), "\(final.difference(from: installed))")
                    let reactions = Self.reactions(run, uplink: "up2")
                    #expect(reactions.down >= 2 && reactions.up >= 2, "\(run.text)")
                    #expect(run.stop() < 5 && run.process.terminationStatus == 0, "\(run.text)")
                    row = [
                        "flushes": flushes.count, "refused_run_manages": refused.count,
                        "state_after": final.sameContent(as: installed) ? "run's full state" : "other",
                        "run_reactions_down": reactions.down, "run_reactions_up": reactions.up
                    ]
                }
                // Stopped without --flush-on-exit, run leaves its state; flush now removes it all.
                let flushed = try UplinkctlCLI.run(["flush", "--netns", lab.host])
                #expect(flushed.status == 0, "\(flushed.stderr)")
                let after = try Self.snapshot(lab)
                #expect(after == pristine, "\(after.difference(from: pristine))")
                row["flush_after_run"] = after == pristine ? "removed everything" : "left something"
                row["seconds"] = (Date().timeIntervalSince(started) * 10).rounded() / 10
                try Self.report.add(row, to: "flush_during_run")
            }
        }
    }

    /// `apply`, `flush` and `status` look whether a run holds the namespace by taking its run
    /// file shared for a moment; a run starting meanwhile must wait that out, not take the
    /// looker for another run ("pid 0").
    @Test("run starts while another command looks whether a run holds the namespace")
    func runStartsWhileLookedAt() throws {
        try Lab.with { lab in
            try UplinkctlCLI.withConfig(Self.first) { path in
                // A run file left by an earlier run, as a restart finds it.
                try RunningUplinkctl.with(host: lab.host, config: path) { _ in }
                let cookie = try must([
                    "ip", "netns", "exec", lab.host, Lab.python, "-c",
                    "import socket, struct; s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); "
                        + "print(struct.unpack('Q', s.getsockopt(socket.SOL_SOCKET, 71, 8))[0])"
                ])
                let file = "/run/uplinkctl/netns-cookie-\(cookie.trimmingCharacters(in: .whitespacesAndNewlines)).run"
                #expect(FileManager.default.fileExists(atPath: file))
                let looker = Process()
                looker.executableURL = URL(fileURLWithPath: "/usr/bin/env")
                looker.arguments = ["flock", "-s", file, "sleep", "0.5"]
                try looker.run()
                defer { looker.waitUntilExit() }
                usleep(100_000)
                try RunningUplinkctl.with(host: lab.host, config: path) { run in
                    #expect(run.process.isRunning && !run.text.contains("already manages"), "\(run.text)")
                }
                #expect(try UplinkctlCLI.run(["flush", "--netns", lab.host]).status == 0)
            }
        }
    }
}
