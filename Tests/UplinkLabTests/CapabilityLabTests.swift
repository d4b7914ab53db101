import Foundation
import TestSupport
import Testing

@testable import UplinkCore

/// uplinkctl without root, as a unit with only CAP_NET_ADMIN and CAP_NET_RAW runs it: an
/// unprivileged user (nobody) with those two as ambient capabilities, and its lock and
/// records in the directory the unit's RuntimeDirectory= would hand it.
@Suite(
    "without root, with CAP_NET_ADMIN and CAP_NET_RAW", .serialized,
    .enabled(if: Namespaces.enabled, "needs root and network namespaces"))
struct CapabilityLabTests {
    static let nobody = "65534"

    /// `arguments` as nobody inside `namespace`, with the capabilities (or none).
    static func asNobody(_ namespace: String, capabilities: Bool, runtime: String?, _ arguments: [String]) -> [String] {
        ["ip", "netns", "exec", namespace, "setpriv", "--reuid=\(nobody)", "--regid=\(nobody)", "--clear-groups"]
            + (capabilities ? ["--inh-caps=+net_admin,+net_raw", "--ambient-caps=+net_admin,+net_raw"] : [])
            + ["--", "env"] + (runtime.map { ["RUNTIME_DIRECTORY=\($0)"] } ?? []) + [Paths.uplinkctl.path] + arguments
    }

    /// A config nobody can read, and a runtime directory of nobody's.
    static func withFiles(_ body: (_ config: String, _ runtime: String) throws -> Void) throws {
        // Named as the unit's RuntimeDirectory=uplinkctl names it (uplinkctl takes no other).
        let parent = FileManager.default.temporaryDirectory
            .appendingPathComponent("uplinkctl-runtime-\(UUID().uuidString)").path
        let runtime = parent + "/uplinkctl"
        try FileManager.default.createDirectory(atPath: runtime, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: parent) }
        try must(["chown", "\(nobody):\(nobody)", runtime])
        try UplinkctlCLI.withConfig(try Paths.read(Paths.examples.appendingPathComponent("lab.yaml"))) { config in
            try must(["chmod", "644", config])
            try body(config, runtime)
        }
    }

    @Test func applyRunAndFlushWorkWithTheCapabilitiesAlone() throws {
        try Lab.with { lab in
            try Self.withFiles { config, runtime in
                let pristine = try KernelSnapshot(lab.host)
                let apply = try run(Self.asNobody(lab.host, capabilities: true, runtime: runtime, ["apply", config]))
                #expect(apply.status == 0, "\(apply.stderr)")
                // What it installed is what root would have: real connections take the nth cycle.
                #expect(try UplinkctlCLI.run(["diff", "--netns", lab.host, config]).status == 0)
                #expect(try must(["ip", "netns", "exec", lab.host, "sysctl", "-n", "net.ipv4.ip_forward"]) == "1\n")
                #expect(try lab.connections(from: .host, .tcp, count: 3) == [1, 2, 3])
                // run's probes (raw ICMP, marked) work too: a gateway that stops forwarding is seen.
                let log = FileManager.default.temporaryDirectory
                    .appendingPathComponent("uplinkctl-nobody-\(UUID().uuidString).log").path
                defer { try? FileManager.default.removeItem(atPath: log) }
                let daemon = Process()
                daemon.executableURL = URL(fileURLWithPath: "/usr/bin/env")
                daemon.arguments = Self.asNobody(lab.host, capabilities: true, runtime: runtime, ["run", config])
                _ = FileManager.default.createFile(atPath: log, contents: nil)
                daemon.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
                try daemon.run()
                defer {
                    if daemon.isRunning { kill(daemon.processIdentifier, SIGKILL) }
                    daemon.waitUntilExit()
                }
                try RunLabTests.forwarding(lab, gateway: 2, on: false)
                let deadline = Date().addingTimeInterval(5)
                var text = ""
                while Date() < deadline && !text.contains("up2 down") {
                    usleep(50_000)
                    text = try Paths.read(URL(fileURLWithPath: log))
                }
                #expect(text.contains("up2 down"), "\(text)")
                kill(daemon.processIdentifier, SIGTERM)
                daemon.waitUntilExit()
                let ended = try Paths.read(URL(fileURLWithPath: log))
                #expect(daemon.terminationStatus == 0 && ended.contains("SIGTERM"), "\(ended)")
                let flush = try run(Self.asNobody(lab.host, capabilities: true, runtime: runtime, ["flush"]))
                #expect(flush.status == 0, "\(flush.stderr)")
                #expect(try KernelSnapshot(lab.host) == pristine)
            }
        }
    }

    @Test func withoutThemItSaysWhatItNeedsAndChangesNothing() throws {
        try Lab.with { lab in
            try Self.withFiles { config, runtime in
                let pristine = try KernelSnapshot(lab.host)
                let apply = try run(Self.asNobody(lab.host, capabilities: false, runtime: runtime, ["apply", config]))
                #expect(apply.status == 1)
                #expect(
                    apply.stderr == "uplinkctl: nft list table inet uplinkctl: Operation not permitted; "
                        + "uplinkctl needs CAP_NET_ADMIN (run it as root, or give it the capability); "
                        + "nothing was changed\n", "\(apply.stderr)")
                // Without a directory of its own for the lock: said, with the fix.
                let noDirectory = try run(Self.asNobody(lab.host, capabilities: true, runtime: nil, ["apply", config]))
                #expect(noDirectory.status == 1)
                #expect(
                    noDirectory.stderr.hasPrefix(
                        "uplinkctl: /run/uplinkctl: Permission denied "
                            + "(uplinkctl keeps its lock and records there; "
                            + "run it as root, or make the directory this user's"),
                    "\(noDirectory.stderr)")
                #expect(try KernelSnapshot(lab.host) == pristine)
            }
        }
    }
}
