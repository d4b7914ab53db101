import Foundation
import Testing

@testable import UplinkCore

/// A kernel refusal at every step of every example's apply (UPLINKCTL_FAULT_AT=N), not a
/// sample: a fresh apply, and the change from each example to the next (in name order, the
/// last to the first, so every example is a source and a target). After each refusal the
/// kernel must be byte for byte as before: ip rules and routes of both families, the nft
/// ruleset, the sysctls the examples set, MPTCP endpoints and limits. Then a refusal while
/// undoing (UPLINKCTL_FAULT_UNDO_AT=M): the report names the one object left, the kernel
/// differs in it alone, and the next apply or flush puts it right.
/// See Support/ExampleHost.swift for the namespaces and Support/LabExample.swift for the
/// addresses; with UPLINKCTL_PROVE_REPORT_DIR the figures go to faultpoints.json.
@Suite(
    "every fault point of every example", .serialized,
    .enabled(if: Namespaces.enabled, "needs root and network namespaces"))
struct FaultPointTests {
    /// An example and the next one, whose change is swept too.
    struct Change: Sendable, CustomTestStringConvertible {
        let from: LabExample
        let to: LabExample
        var testDescription: String { "\(from.name) → \(to.name)" }
    }

    static let examples = (try? LabExample.all()) ?? []
    static let changes = examples.indices.map { Change(from: examples[$0], to: examples[($0 + 1) % examples.count]) }
    static let report = ProveReport("faultpoints.json")

    /// How one sweep went: the apply had `steps` steps; `refused` applies were refused at one
    /// of them, `identical` of which left the kernel as it was.
    struct Sweep {
        var steps = 0
        var refused = 0
        var identical = 0
        var seconds = 0.0
    }

    @Test("the examples are read and adapted to the lab")
    func examplesLoad() throws {
        let examples = try LabExample.all()
        #expect(examples.count >= 2)
        for example in examples {
            for gateway in example.config.uplinks.flatMap(\.gateways) {
                #expect(LabExample.ranges.contains { $0.contains(gateway) }, "\(example.name): \(gateway)")
            }
        }
    }

    @Test(
        "a refusal at every step of a fresh apply and of the change to the next example leaves nothing behind",
        arguments: changes)
    func everyStep(_ change: Change) throws {
        try ExampleHost.with([change.from.config, change.to.config]) { host in
            try UplinkctlCLI.withConfig(change.from.yaml) { source in
                try UplinkctlCLI.withConfig(change.to.yaml) { target in
                    let pristine = try host.snapshot()
                    let fresh = try Self.sweep(source, in: host, over: pristine)
                    #expect(fresh.steps > 0)
                    let installed = try host.snapshot()
                    let moved = try Self.sweep(target, in: host, over: installed)
                    #expect(moved.steps > 0, "\(change.testDescription) changes nothing")
                    let flushed = try UplinkctlCLI.run(["flush", "--netns", host.host])
                    #expect(flushed.status == 0, "\(flushed.stderr)")
                    let after = try host.snapshot()
                    #expect(after == pristine, "flush left:\n\(after.difference(from: pristine))")
                    try Self.record(change, fresh: fresh, moved: moved)
                }
            }
        }
    }

    /// Applies `config` with a refusal at step 1, 2, … until an apply succeeds without meeting
    /// its fault: the one before was the last step. After each refusal the kernel must equal
    /// `before`; after the success, `diff` must find it in sync.
    static func sweep(_ config: String, in host: ExampleHost, over before: KernelSnapshot) throws -> Sweep {
        var sweep = Sweep()
        let started = Date()
        while true {
            let step = sweep.steps + 1
            let result = try UplinkctlCLI.run(
                ["apply", "--netns", host.host, config], environment: ["UPLINKCTL_FAULT_AT": String(step)])
            if result.status == 0 { break }
            sweep.steps = step
            let refused =
                result.status == 1
                && result.stderr.contains(" (refusal injected by UPLINKCTL_FAULT_AT); nothing was changed")
                && result.stderr.hasSuffix("; nothing was changed\n")
            #expect(refused, "step \(step): exit \(result.status)\n\(result.stderr)")
            if refused { sweep.refused += 1 }
            let after = try host.snapshot()
            #expect(after == before, "step \(step) left:\n\(after.difference(from: before))")
            if after == before { sweep.identical += 1 }
            guard step < 1000, refused else { break }
        }
        let diff = try UplinkctlCLI.run(["diff", "--netns", host.host, config])
        #expect(diff.status == 0, "not in sync after the apply that met no fault:\n\(diff.stdout)\(diff.stderr)")
        sweep.seconds = Date().timeIntervalSince(started)
        return sweep
    }

    static func record(_ change: Change, fresh: Sweep, moved: Sweep) throws {
        func row(_ sweep: Sweep) -> [String: Any] {
            [
                "steps": sweep.steps, "refusals_injected": sweep.refused, "states_identical": sweep.identical,
                "seconds": (sweep.seconds * 10).rounded() / 10
            ]
        }
        var example = row(fresh)
        example["example"] = change.from.name
        example["addresses_moved"] = change.from.moved.sorted { $0.key < $1.key }.map { "\($0.key) → \($0.value)" }
            .joined(separator: ", ")
        try report.add(example, to: "examples", summarize: summary)
        var moving = row(moved)
        moving["from"] = change.from.name
        moving["to"] = change.to.name
        try report.add(moving, to: "changes", summarize: summary)
    }

    static func summary(_ sections: [String: [[String: Any]]]) -> [String: Any] {
        let sweeps = (sections["examples"] ?? []) + (sections["changes"] ?? [])
        func sum(_ key: String) -> Int { sweeps.compactMap { $0[key] as? Int }.reduce(0, +) }
        let undo = sections["undo_refusals"] ?? []
        return [
            "sweeps": sweeps.count, "steps": sum("steps"), "refusals_injected": sum("refusals_injected"),
            "states_identical": sum("states_identical"),
            "seconds": ((sweeps.compactMap { $0["seconds"] as? Double }.reduce(0, +)) * 10).rounded() / 10,
            "undo_refusals": undo.count,
            "undo_refusals_named_and_alone": undo.filter { $0["explained"] as? Bool == true }.count,
            "undo_refusals_put_right": undo.filter { $0["put_right"] as? Bool == true }.count
        ]
    }
}
