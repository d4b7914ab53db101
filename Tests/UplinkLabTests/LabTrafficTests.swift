import Foundation
import TestSupport
import Testing

@testable import UplinkCore

/// The dry-run scripts, run in the lab's host, with real TCP connections and UDP flows from
/// the host itself (output hook) and from the LAN client behind it (prerouting hook): each
/// must leave by the uplink its round-robin slot names: the server sees it come in through
/// that uplink's gateway, masqueraded to that uplink's address.
///
/// The round-robin counter (`numgen inc`, or the `statistic nth` rules) starts at 0 in a fresh
/// lab and is one counter for all new balanced connections, local or forwarded, TCP or UDP.
/// Each batch sends two cycles plus one connection, so the next batch starts mid-cycle: a
/// counter kept per hook or per protocol would show as a shifted sequence.
@Suite("Traffic through the lab", .serialized, .enabled(if: Namespaces.enabled, "needs root and network namespaces"))
struct LabTrafficTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let name: String
        /// A file under examples/, read when the test runs; otherwise `yaml` is the config.
        var example: String? = nil
        var yaml = ""
        var testDescription: String { name }

        func config() throws -> Config {
            let text = try example.map { try Paths.read(Paths.examples.appendingPathComponent($0)) } ?? yaml
            return try ConfigParser.parse(text, file: example ?? "\(name).yaml").get()
        }
    }

    static let cases: [Case] = [
        Case(name: "examples/lab.yaml (nth 1:1:1)", example: "lab.yaml"),
        Case(
            name: "nth 2:1:1",
            yaml: """
                balance: nth
                uplinks:
                  - name: up1
                    interface: up1
                    gateway: 198.18.1.1
                    weight: 2
                  - name: up2
                    interface: up2
                    gateway: 198.18.2.1
                  - name: up3
                    interface: up3
                    gateway: 198.18.3.1
                """)
    ]

    @Test("new connections take the uplinks in slot order", arguments: cases, DryRunFormat.allCases)
    func slotOrder(_ labCase: Case, format: DryRunFormat) throws {
        let config = try labCase.config()
        try Lab.with { lab in
            // The script apply would write for this host: its addresses and main default route.
            let state = Planner.plan(config, facts: try lab.hostAddresses())
            // Uplink N is slot index N-1, as the lab numbers its uplinks in config order.
            let order = smoothSlotOrder(weights: state.uplinks.map(\.slots)).map { $0 + 1 }
            let complaints = try lab.run(script: DryRun.script(state, format: format))
            #expect(complaints.isEmpty, "the script complained:\n\(complaints)")
            for batch in try lab.slotOrderBatches(order) {
                #expect(
                    batch.seen == batch.expected, "\(batch.what): uplinks \(batch.seen), expected \(batch.expected)")
            }
        }
    }

    /// A connection from the host to its LAN stays on the LAN: the LAN client's echo server
    /// sees it arrive on eth0 from the host's own LAN address, 198.18.200.1, so it left by lan0
    /// unmasqueraded. Balanced onto an uplink it would have gone to a gateway, which has no
    /// route to the LAN: a timeout.
    ///
    /// Its route leaves by lan0, not by an uplink, so it is left alone and takes no round-robin
    /// slot: after two connections to the LAN, the next connection to the server gets slot 0.
    @Test("connections to the LAN stay direct and take no slot", arguments: DryRunFormat.allCases)
    func lanStaysDirect(format: DryRunFormat) throws {
        let config = try Self.cases[0].config()
        try Lab.with { lab in
            let state = Planner.plan(config, facts: try lab.hostAddresses())
            let order = smoothSlotOrder(weights: state.uplinks.map(\.slots)).map { $0 + 1 }
            let complaints = try lab.run(script: DryRun.script(state, format: format))
            #expect(complaints.isEmpty, "the script complained:\n\(complaints)")

            for transport in [Lab.Transport.udp, .tcp] {
                let seen = try lab.echo(from: .host, transport, count: 1, to: Lab.lanClientAddress)
                #expect(
                    seen == ["\(Lab.hostLanAddress) eth0"],
                    "the LAN client saw \(transport) from \(seen), not from the host's LAN address")
            }
            let next = try lab.connections(from: .host, .udp, count: 1)
            #expect(next == [order[0]], "after two LAN connections the next one took uplink \(next), not slot 0's")
        }
    }

    /// The lab itself, without uplinkctl: every connection from the host takes the main
    /// table's default route, up1, and the server sees it.
    @Test("without uplinkctl the host uses up1 only")
    func labWithoutUplinkctl() throws {
        try Lab.with { lab in
            for transport in [Lab.Transport.tcp, .udp] {
                let seen = try lab.connections(from: .host, transport, count: 3)
                #expect(seen == [1, 1, 1], "\(transport): \(seen)")
            }
        }
    }
}
