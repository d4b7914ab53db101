import Foundation
import TestSupport
import Testing

@testable import UplinkCore

/// IPv4-only, dual-stack and IPv6-only uplinks together, in the lab with IPv6 (Support/Lab.swift):
/// up1 carries IPv4 only, up2 both, up3 IPv6 only (examples/dual-stack.yaml's shape). IPv4
/// connections are balanced over up1 and up2, IPv6 ones over up2 and up3, each family with its
/// own cycle. The server names the link a connection came by ("… gN") and the source it saw:
/// without NAT66 the LAN client's own 2001:2:0:200::2, with `masquerade6: true` the uplink's.
@Suite("Dual stack in the lab", .serialized, .enabled(if: Namespaces.enabled, "needs root and network namespaces"))
struct DualStackLabTests {
    static func yaml(masquerade6: Bool) -> String {
        """
        balance: nth
        traffic: [local, forwarded]
        uplinks:
          - {name: up1, interface: up1, gateway: 198.18.1.1}
          - {name: up2, interface: up2, gateway: [198.18.2.1, "2001:2:0:2::1"], masquerade6: \(masquerade6)}
          - {name: up3, interface: up3, gateway: "2001:2:0:3::1", masquerade6: \(masquerade6)}

        """
    }

    struct Case: CustomTestStringConvertible, Sendable {
        let way: Installation
        let masquerade6: Bool
        var testDescription: String { "\(way.testDescription), masquerade6 \(masquerade6)" }
    }

    static let cases = [
        Case(way: .apply, masquerade6: false), Case(way: .apply, masquerade6: true),
        Case(way: .nftScript, masquerade6: false)
    ]

    @Test("each family is balanced over the uplinks that carry it; NAT66 only when asked", arguments: cases)
    func familiesBalanceapart(_ labCase: Case) throws {
        try Lab.with(ipv6: true) { lab in
            try lab.install(Self.yaml(masquerade6: labCase.masquerade6), by: labCase.way)
            #expect(
                try must(["ip", "netns", "exec", lab.host, "sysctl", "-n", "net.ipv6.conf.all.forwarding"]) == "1\n")
            // Interleaved by family: neither cycle may see the other's connections.
            var v4: [String] = []
            var v6: [String] = []
            for round in 0..<5 {
                let transport = round % 2 == 0 ? Lab.Transport.tcp : .udp
                v4 += try lab.echo(in: lab.lan, transport, count: 1, to: Lab.serviceAddress)
                v6 += try lab.echo(in: lab.lan, transport, count: 1, to: Lab.serviceAddress6)
            }
            #expect(v4.map(Lab.uplink(answer:)) == [1, 2, 1, 2, 1], "IPv4 from the LAN: \(v4)")
            let sixes = [2, 3, 2, 3, 2]
            let source = { (n: Int) in labCase.masquerade6 ? LabUplinks.address(n, ipv6: true) : Lab.lanClientAddress6 }
            #expect(v6 == sixes.map { "\(source($0)) g\($0)" }, "IPv6 from the LAN: \(v6)")

            // The host's own IPv6 connections continue the IPv6 cycle. Their source address is
            // picked before uplinkctl marks them, from the main table's route (up1's address):
            // only NAT66 gives them the address of the uplink they leave by.
            let host6 = try lab.echo(in: lab.host, .tcp, count: 2, to: Lab.serviceAddress6)
            let hostSource = { (n: Int) in
                labCase.masquerade6 ? LabUplinks.address(n, ipv6: true) : LabUplinks.address(1, ipv6: true)
            }
            #expect(host6 == [3, 2].map { "\(hostSource($0)) g\($0)" }, "IPv6 from the host: \(host6)")

            // up3's IPv6 address has its `from` rules. IPv6 routes carry no realm, so nft cannot
            // tell a socket bound to it from an unbound one: with local balancing on, such a
            // connection is balanced like any other (the README says so).
            let rules6 = try must(["ip", "-n", lab.host, "-6", "rule"])
            #expect(rules6.contains("from \(LabUplinks.address(3, ipv6: true)) lookup 112"), "\(rules6)")
        }
    }
}
