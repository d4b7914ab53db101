import Foundation
import Testing

@testable import UplinkCore

/// A refusal while undoing: with the fault at an apply's last step, the M-th undo of the
/// roll-back is refused too (UPLINKCTL_FAULT_UNDO_AT=M), for every M. The report must name
/// that step's object with the kernel's reason and exit 3; the kernel must differ from before
/// in that object alone; the next flush (fresh apply) must give the kernel back byte for byte,
/// the next apply (change) the installed state (KernelSnapshot.sameContent: an nft table that
/// apply updates lists its objects in another order, and re-added MPTCP endpoints get new ids).
/// The case is examples/mptcp.yaml and its change to the next example, which between them
/// undo routes, rules, sysctls, MPTCP endpoints and limits and the nft table, both ways.
extension FaultPointTests {
    @Test("a refusal while undoing names the one object left, and the next flush or apply puts it right")
    func undoRefusals() throws {
        let change = try #require(Self.changes.first { $0.from.name == "mptcp" }, "no examples/mptcp.yaml")
        try ExampleHost.with([change.from.config, change.to.config]) { host in
            try UplinkctlCLI.withConfig(change.from.yaml) { source in
                try UplinkctlCLI.withConfig(change.to.yaml) { target in
                    let pristine = try host.snapshot()
                    let fresh = try Self.stepCount(source, in: host)
                    var before = try Self.flush(host)
                    try #require(before == pristine)
                    for undo in 1..<fresh {
                        before = try Self.undoRefusal(
                            source, "\(change.from.name) (fresh)", steps: fresh, undo: undo, in: host, before: before
                        ) {
                            let flushed = try Self.flush(host)
                            return (flushed, flushed == pristine, flushed.difference(from: pristine))
                        }
                    }
                    try #require(try UplinkctlCLI.run(["apply", "--netns", host.host, source]).status == 0)
                    let installed = try host.snapshot()
                    let moving = try Self.stepCount(target, in: host)
                    before = try Self.reapply(source, in: host)
                    try #require(before.sameContent(as: installed))
                    for undo in 1..<moving {
                        before = try Self.undoRefusal(
                            target, change.testDescription, steps: moving, undo: undo, in: host, before: before
                        ) {
                            let applied = try Self.reapply(source, in: host)
                            return (applied, applied.sameContent(as: installed), applied.difference(from: installed))
                        }
                    }
                    #expect(try Self.flush(host) == pristine)
                }
            }
        }
    }

    /// The steps of applying `config` here, found as the sweep finds them but without
    /// witnesses; the config is applied afterwards.
    static func stepCount(_ config: String, in host: ExampleHost) throws -> Int {
        for step in 1...1000 {
            let result = try UplinkctlCLI.run(
                ["apply", "--netns", host.host, config], environment: ["UPLINKCTL_FAULT_AT": String(step)])
            if result.status == 0 { return step - 1 }
            try #require(result.status == 1, "\(result.stderr)")
        }
        throw CommandFailed(command: "uplinkctl apply", status: 1, output: "more than 1000 steps")
    }

    static func flush(_ host: ExampleHost) throws -> KernelSnapshot {
        let flushed = try UplinkctlCLI.run(["flush", "--netns", host.host])
        #expect(flushed.status == 0, "\(flushed.stderr)")
        return try host.snapshot()
    }

    static func reapply(_ config: String, in host: ExampleHost) throws -> KernelSnapshot {
        let applied = try UplinkctlCLI.run(["apply", "--netns", host.host, config])
        #expect(applied.status == 0, "\(applied.stderr)")
        #expect(try UplinkctlCLI.run(["diff", "--netns", host.host, config]).status == 0)
        return try host.snapshot()
    }

    /// One apply over `before` with the fault at its last step and the `undo`-th undo refused,
    /// checked, then put right by `recover`, which gives the kernel then, whether it is right
    /// and, if not, what differs; returns that kernel.
    static func undoRefusal(
        _ config: String, _ name: String, steps: Int, undo: Int, in host: ExampleHost, before: KernelSnapshot,
        recover: () throws -> (kernel: KernelSnapshot, done: Bool, difference: String)
    ) throws -> KernelSnapshot {
        let result = try UplinkctlCLI.run(
            ["apply", "--netns", host.host, config],
            environment: ["UPLINKCTL_FAULT_AT": String(steps), "UPLINKCTL_FAULT_UNDO_AT": String(undo)])
        #expect(result.status == 3, "\(name), undo \(undo): exit \(result.status)\n\(result.stderr)")
        let made = steps - 1
        #expect(
            result.stderr.contains("1 of the \(made) steps already made could not be undone: ")
                && result.stderr.contains("the other \(made - 1) were"), "\(result.stderr)")
        let pattern = /could not be undone: (.+): ([^:;(]+) \(refusal injected by UPLINKCTL_FAULT_UNDO_AT\)/
        let object = result.stderr.firstMatch(of: pattern).map { String($0.1) } ?? ""
        #expect(!object.isEmpty, "\(name), undo \(undo): no object named:\n\(result.stderr)")
        let after = try host.snapshot()
        let explained = explains(object, after.changes(since: before))
        #expect(
            explained, "\(name), undo \(undo): '\(object)' does not account for:\n\(after.difference(from: before))")
        let recovered = try recover()
        #expect(recovered.done, "\(name), undo \(undo): not put right:\n\(recovered.difference)")
        let row: [String: Any] = [
            "case": name, "fault_at": steps, "undo_refused": undo, "exit": Int(result.status),
            "object": object, "explained": explained, "put_right": recovered.done
        ]
        try report.add(row, to: "undo_refusals", summarize: summary)
        return recovered.kernel
    }

    /// Whether the kernel's differences from before are exactly the object an undo named (as
    /// the command that would have undone it): the one rule, route, setting, endpoint, the
    /// limits, or the nft table, in its one witness.
    static func explains(_ object: String, _ changes: [(field: String, removed: [String], added: [String])]) -> Bool {
        guard changes.count == 1, let change = changes.first else { return false }
        let words = object.split(separator: " ").map(String.init)
        let (removed, added) = (change.removed, change.added)
        func value(after key: String) -> String? {
            words.firstIndex(of: key).flatMap { $0 + 1 < words.count ? words[$0 + 1] : nil }
        }
        if object.hasPrefix("nft table inet uplinkctl") { return change.field == "nft list ruleset" }
        if object.hasPrefix("sysctl -w "), let setting = words.last?.split(separator: "=", maxSplits: 1),
            setting.count == 2
        {
            return change.field == "sysctl" && removed == ["\(setting[0]) = \(setting[1])"]
                && added.count == 1 && added[0].hasPrefix("\(setting[0]) = ")
        }
        if object.hasPrefix("ip mptcp limits set"), let subflows = value(after: "subflows"),
            let accepted = value(after: "add_addr_accepted")
        {
            return change.field == "ip mptcp" && removed.count == 1 && added.count == 1
                && removed[0].contains("subflows \(subflows)") && removed[0].contains("add_addr_accepted \(accepted)")
        }
        if object.hasPrefix("ip mptcp endpoint "), words.count > 4 {
            let line = words[4] + " id "
            let lines = words[3] == "delete" ? (added, removed) : (removed, added)
            return change.field == "ip mptcp" && lines.1.isEmpty && lines.0.count == 1 && lines.0[0].hasPrefix(line)
        }
        let family = words.count > 1 && words[1] == "-6" ? ["-6"] : []
        let rest = Array(words.dropFirst(1 + family.count))
        guard rest.count > 2 else { return false }
        let (kind, verb, text) = (rest[0], rest[1], rest.dropFirst(2).joined(separator: " "))
        if kind == "route" {
            guard change.field == (family.isEmpty ? "ip route" : "ip -6 route") else { return false }
            // ip lists a route by device alone with its scope, which the command leaves implied.
            let (removed, added) = (
                removed.map { $0.replacingOccurrences(of: " scope link", with: "") },
                added.map { $0.replacingOccurrences(of: " scope link", with: "") }
            )
            switch verb {
            case "del": return removed.isEmpty && added.count == 1 && added[0].hasPrefix(text)
            case "add": return added.isEmpty && removed.count == 1 && removed[0].hasPrefix(text)
            case "replace": return removed.count == 1 && added.count == 1 && removed[0].hasPrefix(text)
            default: return false
            }
        }
        guard kind == "rule", change.field == (family.isEmpty ? "ip rule" : "ip -6 rule"),
            let priority = value(after: "priority"), let table = value(after: "lookup")
        else { return false }
        let lines = verb == "del" ? (added, removed) : (removed, added)
        guard lines.1.isEmpty, lines.0.count == 1 else { return false }
        let line = lines.0[0]
        return line.hasPrefix("\(priority):") && line.contains("lookup \(table) ")
            && (value(after: "from").map { line.contains("from \($0) ") } ?? true)
            && (value(after: "fwmark") == nil || line.contains("fwmark "))
            && (words.contains("not") == line.contains("not "))
    }
}
