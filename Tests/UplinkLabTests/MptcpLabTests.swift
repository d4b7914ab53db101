import Foundation
import TestSupport
import Testing

@testable import UplinkCore

/// `mptcp: true` in the lab, with a real MPTCP client (the host) and server (198.19.0.1, whose
/// path manager accepts joins): the endpoints and limits as the kernel's own `ip mptcp` shows
/// them; one connection whose bytes cross every uplink; its first subflow on the main route,
/// its joins each by its own uplink; plain TCP keeping its nth cycle.
@Suite("MPTCP in the lab", .serialized, .enabled(if: Namespaces.enabled, "needs root and network namespaces"))
struct MptcpLabTests {
    static let port = 9100

    static func yaml(_ extra: String = "", up3: String = "") -> String {
        """
        balance: nth
        mptcp: true
        \(extra)
        uplinks:
          - {name: up1, interface: up1, gateway: 198.18.1.1}
          - {name: up2, interface: up2, gateway: 198.18.2.1}
          - {name: up3, interface: up3, gateway: 198.18.3.1\(up3)}
        """
    }

    static func endpoints(_ namespace: String) throws -> String {
        try must(["ip", "-n", namespace, "mptcp", "endpoint", "show"])
    }
    static func limits(_ namespace: String) throws -> String {
        try must(["ip", "-n", namespace, "mptcp", "limits", "show"])
    }

    /// The server's path manager takes joins; each gateway's download direction is a 20 Mbit/s
    /// bottleneck, so that one subflow alone cannot carry everything.
    static func prepare(_ lab: Lab) throws {
        try must(["ip", "-n", lab.server, "mptcp", "limits", "set", "subflows", "4", "add_addr_accepted", "4"])
        for gateway in lab.gateways {
            try must([
                "ip", "netns", "exec", gateway, "tc", "qdisc", "replace", "dev", "dn", "root", "tbf",
                "rate", "20mbit", "burst", "32kb", "latency", "50ms"
            ])
        }
    }

    /// Bytes each uplink carried to the host (its interface's received bytes) during `body`.
    static func perUplink(_ lab: Lab, _ body: () throws -> Void) throws -> [Int] {
        func received() throws -> [Int] {
            try (1...3).map { n in
                let text = try must([
                    "ip", "netns", "exec", lab.host, "cat",
                    "/sys/class/net/up\(n)/statistics/rx_bytes"
                ])
                return Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
            }
        }
        let before = try received()
        try body()
        return zip(try received(), before).map { $0 - $1 }
    }

    @Test func endpointsAndLimitsAreInstalledReadBackDiffedAndFlushed() throws {
        try Lab.with { lab in
            let pristine = try Self.limits(lab.host)
            try UplinkctlCLI.withConfig(Self.yaml()) { config in
                try must([Paths.uplinkctl.path, "apply", "--netns", lab.host, config])
                // `198.18.1.2 id 1 subflow dev up1`: the ids are the kernel's.
                let shown = try Self.endpoints(lab.host).split(separator: "\n").map { line in
                    line.split(separator: " ").enumerated().filter { $0.offset != 1 && $0.offset != 2 }.map(\.element)
                        .joined(separator: " ")
                }
                #expect(
                    shown == [
                        "198.18.1.2 subflow dev up1", "198.18.2.2 subflow dev up2",
                        "198.18.3.2 subflow dev up3"
                    ],
                    "\(shown)")
                #expect(try Self.limits(lab.host) == "add_addr_accepted 2 subflows 2 \n")
                #expect(try UplinkctlCLI.run(["diff", "--netns", lab.host, config]).status == 0)
                // One removed behind uplinkctl's back: diff names it, apply puts it back.
                let id = try #require(
                    try Self.endpoints(lab.host).split(separator: "\n")
                        .first { $0.hasPrefix("198.18.2.2") }?
                        .split(separator: " ").drop { $0 != "id" }.dropFirst().first)
                try must(["ip", "-n", lab.host, "mptcp", "endpoint", "delete", "id", String(id)])
                let diff = try UplinkctlCLI.run(["diff", "--netns", lab.host, config])
                #expect(
                    diff.status == 1 && diff.stdout == "+ ip mptcp endpoint add 198.18.2.2 dev up2 subflow\n",
                    "\(diff.stdout)")
                try must([Paths.uplinkctl.path, "apply", "--netns", lab.host, config])
                #expect(try UplinkctlCLI.run(["diff", "--netns", lab.host, config]).status == 0)
                // Another program's endpoint is never taken over, and refuses the apply of its address.
                try must([Paths.uplinkctl.path, "flush", "--netns", lab.host])
                #expect(try Self.endpoints(lab.host).isEmpty)
                #expect(try Self.limits(lab.host) == pristine)
                try must(["ip", "-n", lab.host, "mptcp", "endpoint", "add", "198.18.3.2", "dev", "up3", "signal"])
                let refused = try UplinkctlCLI.run(["apply", "--netns", lab.host, config])
                #expect(
                    refused.status == 1
                        && refused.stderr.contains("mptcp: the path manager already has an endpoint for 198.18.3.2"),
                    "\(refused.stderr)")
                #expect(try Self.endpoints(lab.host).split(separator: "\n").count == 1)
            }
        }
    }

    @Test func oneConnectionUsesEveryUplinkAndPlainTCPKeepsItsCycle() throws {
        try Lab.with { lab in
            try Self.prepare(lab)
            try UplinkctlCLI.withConfig(Self.yaml()) { config in
                try must([Paths.uplinkctl.path, "apply", "--netns", lab.host, config])
                try lab.withDownloadSource(port: Self.port) {
                    var total = 0
                    let carried = try Self.perUplink(lab) { total = try lab.download(port: Self.port, seconds: 3) }
                    // Every uplink carried a real part of the one connection (each link alone is 20 Mbit/s).
                    #expect(carried.allSatisfy { $0 > total / 6 }, "per uplink \(carried) of \(total) bytes")
                    #expect(
                        Double(total) * 8 / 3 > 40e6,
                        "\(Double(total) * 8 / 3e6) Mbit/s over three 20 Mbit/s links")
                    // Conntrack on the host: the first subflow from the main route's uplink, unmarked; a join
                    // from each other uplink, with that uplink's own mark (its bound address, not a slot);
                    // none translated (the reply goes back to the address it came from).
                    let entries = try must([
                        "ip", "netns", "exec", lab.host, "conntrack", "-L", "-p", "tcp",
                        "--dport", String(Self.port)
                    ]).split(separator: "\n")
                    let sources = entries.compactMap { entry -> String? in
                        let fields = entry.split(separator: " ")
                        let src = fields.filter { $0.hasPrefix("src=") }.map { String($0.dropFirst(4)) }
                        let dst = fields.filter { $0.hasPrefix("dst=") }.map { String($0.dropFirst(4)) }
                        let mark = fields.first { $0.hasPrefix("mark=") }.map { String($0.dropFirst(5)) } ?? "?"
                        guard src.count == 2, dst.count == 2, src[0] == dst[1] else { return nil }
                        return "\(src[0]) mark \(mark)"
                    }
                    #expect(
                        sources.sorted() == ["198.18.1.2 mark 0", "198.18.2.2 mark 512", "198.18.3.2 mark 768"],
                        "\(entries)")
                }
                // The subflows took no balancing slot: plain TCP goes on 1, 2, 3.
                #expect(try lab.connections(from: .host, .tcp, count: 3) == [1, 2, 3])
            }
        }
    }

    @Test func anUplinkWithMptcpFalseCarriesNoSubflow() throws {
        try Lab.with { lab in
            try Self.prepare(lab)
            try UplinkctlCLI.withConfig(Self.yaml(up3: ", mptcp: false")) { config in
                try must([Paths.uplinkctl.path, "apply", "--netns", lab.host, config])
                #expect(!(try Self.endpoints(lab.host)).contains("198.18.3.2"))
                try lab.withDownloadSource(port: Self.port) {
                    var total = 0
                    let carried = try Self.perUplink(lab) { total = try lab.download(port: Self.port, seconds: 2) }
                    #expect(carried[0] > total / 4 && carried[1] > total / 4, "\(carried) of \(total)")
                    #expect(carried[2] < 20_000, "up3 carried \(carried[2]) bytes")
                }
            }
        }
    }

    /// status reads the connections and subflows from the kernel (sock_diag), per uplink.
    @Test func statusShowsTheConnectionAndItsSubflowsPerUplink() throws {
        try Lab.with { lab in
            try Self.prepare(lab)
            try UplinkctlCLI.withConfig(Self.yaml()) { config in
                try must([Paths.uplinkctl.path, "apply", "--netns", lab.host, config])
                try lab.withDownloadSource(port: Self.port) {
                    let download = Process()
                    download.executableURL = URL(fileURLWithPath: "/usr/bin/env")
                    download.arguments = [
                        "ip", "netns", "exec", lab.host, Lab.python, Lab.script("mptcp-transfer.py"),
                        "fetch", Lab.serviceAddress, String(Self.port), "3"
                    ]
                    download.standardOutput = FileHandle.nullDevice
                    try download.run()
                    defer { download.waitUntilExit() }
                    // Until its joins are up (at most 2 s).
                    var summary: StatusReport.Summary?
                    for _ in 0..<20 {
                        usleep(100_000)
                        let json = try must([Paths.uplinkctl.path, "status", "--json", "--netns", lab.host, config])
                        summary = try JSONDecoder().decode(StatusReport.Summary.self, from: Data(json.utf8))
                        if summary?.mptcp?.subflows == 3 { break }
                    }
                    #expect(summary?.mptcp?.connections == 1, "\(String(describing: summary?.mptcp))")
                    #expect(summary?.uplinks.map(\.subflows) == [1, 1, 1])
                    let text = try must([Paths.uplinkctl.path, "status", "--netns", lab.host, config])
                    #expect(text.contains("mptcp: 1 connection now, 3 subflows (per uplink below)"), "\(text)")
                }
            }
        }
    }

    /// run withdraws a dead uplink's endpoint, so no new subflow goes there, and puts it back.
    @Test func runWithdrawsADeadUplinksEndpoint() throws {
        try Lab.with { lab in
            try UplinkctlCLI.withConfig(Self.yaml("health:\n  targets: [\(Lab.serviceAddress)]")) { config in
                try RunningUplinkctl.with(host: lab.host, config: config) { run in
                    #expect(try Self.endpoints(lab.host).contains("198.18.2.2"))
                    try RunLabTests.forwarding(lab, gateway: 2, on: false)
                    try run.waitFor("uplink up2 down")
                    let withdrawn = try Self.endpoints(lab.host)
                    #expect(!withdrawn.contains("198.18.2.2"), "\(withdrawn)")
                    try RunLabTests.forwarding(lab, gateway: 2, on: true)
                    try run.waitFor("uplink up2 up")
                    #expect(try Self.endpoints(lab.host).contains("198.18.2.2"))
                }
            }
        }
    }

    /// An unconfirmed apply that set MPTCP up takes its endpoints away and puts the limits back.
    @Test func anUnconfirmedApplyTakesTheEndpointsBack() throws {
        try Lab.with { lab in
            let endpoints = try Self.endpoints(lab.host)
            let limits = try Self.limits(lab.host)
            let before = try KernelSnapshot(lab.host)
            try UplinkctlCLI.withConfig(Self.yaml()) { config in
                let result = try UplinkctlCLI.run(["apply", "--netns", lab.host, "--confirm", "1", config])
                #expect(
                    result.status == 1 && result.stderr.contains("what was installed before is back"),
                    "\(result.stderr)")
            }
            #expect(try Self.endpoints(lab.host) == endpoints && Self.limits(lab.host) == limits)
            #expect(try KernelSnapshot(lab.host) == before)
        }
    }
}
