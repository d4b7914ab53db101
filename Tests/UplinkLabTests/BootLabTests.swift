import Foundation
import TestSupport
import Testing

@testable import UplinkCore

/// A reboot, as far as a lab can have one: the namespaces (the kernel state) deleted and built
/// again, and `run` started with the unit's own ExecStartPre and ExecStart lines. Balancing
/// must come back with the same sequence; `systemctl reload` (the unit's ExecReload) must
/// reach it.
@Suite("start at boot", .serialized, .enabled(if: Namespaces.enabled, "needs root and network namespaces"))
struct BootLabTests {
    static let weights = [2, 1, 1]

    /// The unit's `key=` command, with this build's binary and `config`.
    static func unitCommand(_ key: String, config: String, pid: Int32 = 0) throws -> [String] {
        let unit = try Paths.read(Paths.repository.appendingPathComponent("dist/uplinkctl.service"))
        let line = try #require(unit.split(separator: "\n").first { $0.hasPrefix("\(key)=") }, "no \(key) in the unit")
        return line.dropFirst(key.count + 1).split(separator: " ").map { word in
            switch word {
            case "/usr/local/bin/uplinkctl": return Paths.uplinkctl.path
            case "/etc/uplinkctl/uplinks.yaml": return config
            case "$MAINPID": return String(pid)
            default: return String(word)
            }
        }
    }

    /// One boot: the unit's ExecStartPre and ExecStart in the lab's host namespace; the
    /// uplinks new connections took, in order; then the unit's ExecReload with other weights.
    static func boot(config: String) throws -> (sequence: [Int?], afterReload: [Int?]) {
        try Lab.with { lab in
            try RunLabTests.yaml(weights: weights).write(toFile: config, atomically: true, encoding: .utf8)
            let inHost = ["ip", "netns", "exec", lab.host]
            try must(inHost + unitCommand("ExecStartPre", config: config))
            let run = try RunningUplinkctl(commandLine: inHost + unitCommand("ExecStart", config: config))
            defer { run.stop() }
            try run.waitFor("start: applied")
            let sequence = try lab.connections(from: .host, .tcp, count: 8)
            try RunLabTests.yaml(weights: [1, 1, 3]).write(toFile: config, atomically: true, encoding: .utf8)
            try must(unitCommand("ExecReload", config: config, pid: run.process.processIdentifier))
            try run.waitFor("reload: \(config), 3 uplinks")
            try run.waitFor("reload: applied")
            let afterReload = try lab.connections(from: .host, .tcp, count: 5)
            #expect(run.stop() < 1 && run.process.terminationStatus == 0, "\(run.text)")
            return (sequence, afterReload)
        }
    }

    @Test func balancingComesBackAfterARebootAndReloadReachesIt() throws {
        try UplinkctlCLI.withConfig("") { config in
            try must(["chmod", "600", config])
            let first = try Self.boot(config: config)
            let second = try Self.boot(config: config)
            let order = labSlotOrder([1, 2, 3], weights: Self.weights)
            let expected: [Int?] = (0..<8).map { order[$0 % order.count] }
            #expect(first.sequence == expected, "first boot: \(first.sequence), expected \(expected)")
            #expect(
                second.sequence == first.sequence,
                "after the reboot: \(second.sequence), before: \(first.sequence)")
            let reloaded = labSlotOrder([1, 2, 3], weights: [1, 1, 3])
            // Other weights rewrite the rule that draws the slot (numgen inc mod the new cycle's
            // length): its count starts again from 0.
            let next: [Int?] = (0..<5).map { reloaded[$0 % reloaded.count] }
            #expect(
                first.afterReload == next && second.afterReload == next,
                "\(first.afterReload), \(second.afterReload), expected \(next)")
        }
    }
}
