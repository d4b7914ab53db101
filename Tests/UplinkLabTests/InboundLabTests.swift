import Foundation
import TestSupport
import Testing

@testable import UplinkCore

/// Source in, source out, in the lab (Support/Lab.swift): a connection that comes in on an
/// uplink is answered by that uplink, and a socket bound to an uplink's address leaves by it,
/// while new connections are balanced (examples/source-in-source-out.yaml: nothing to
/// configure). Installed by `uplinkctl apply --netns` and by the nft dry-run script.
///
/// How the path is proven: the client runs in the server's namespace and connects to the
/// host's address on upN from its own address on gN, 198.18.(100+N).2. Only gwN can route an
/// answer back to that address (the other gateways have no route to it), so a reply that
/// left by another uplink is lost and the exchange times out; and the gateways' own counters
/// (Support/LabGateways.swift) show which of them received the host's answers. Without
/// uplinkctl the host answers by its main table's default route, up1: uplinks 2 and 3 would
/// time out. Nothing in the host binds a socket to a device.
@Suite(
    "Replies by the incoming uplink in the lab", .serialized,
    .enabled(if: Namespaces.enabled, "needs root and network namespaces"))
struct InboundLabTests {
    static let yaml = try! Paths.read(Paths.examples.appendingPathComponent("source-in-source-out.yaml"))
    static let ways: [Installation] = [.apply, .nftScript, .iptablesScript]

    /// A service on the host itself (an echo server on the uplinks' addresses, not bound to any
    /// device; on its addresses, as a UDP service must be to answer from the address it was
    /// asked at): from outside, by each uplink in turn, TCP and UDP; balanced connections of
    /// the host's own go on meanwhile.
    @Test("a service on the host answers by the uplink each connection came in on", arguments: ways)
    func hostServiceAnswersByIncomingUplink(way: Installation) throws {
        try Lab.with { lab in
            try lab.install(Self.yaml, by: way)
            try lab.watchGateways()
            try lab.withEchoServer(
                in: lab.host, addresses: (1...LabUplinks.count).map { LabUplinks.address($0) }, ports: [8007]
            ) {
                var balanced: [Int?] = []
                for n in 1...LabUplinks.count {
                    let before = try lab.gatewayCounts()
                    let answers =
                        try lab.echo(in: lab.server, .tcp, count: 3, to: LabUplinks.address(n), port: 8007)
                        + lab.echo(in: lab.server, .udp, count: 3, to: LabUplinks.address(n), port: 8007)
                    #expect(answers == Array(repeating: "198.18.\(100 + n).2 -", count: 6), "in by up\(n): \(answers)")
                    let grown = try lab.gatewayCounts() - before
                    #expect(
                        grown.indices.allSatisfy { ($0 + 1 == n) == (grown[$0].packets > 0) },
                        "answers to connections in by up\(n) reached the gateways \(grown)")
                    balanced += try lab.connections(from: .host, .udp, count: 1)
                }
                // Inbound connections take no slot; each is marked with its uplink.
                #expect(balanced == [1, 2, 3], "the host's own connections: \(balanced)")
                let tracked = try must([
                    "ip", "netns", "exec", lab.host, "conntrack", "-L", "-p", "tcp", "--dport", "8007"
                ])
                for n in 1...LabUplinks.count {
                    let marks = tracked.split(separator: "\n").filter { $0.contains("dst=\(LabUplinks.address(n)) ") }
                        .map { $0.contains("mark=\(n << 8) ") }
                    #expect(
                        marks.count == 3 && !marks.contains(false),
                        "conntrack marks of connections in by up\(n):\n\(tracked)")
                }
            }
        }
    }

    /// A port forward (the user's own DNAT, in a table of the user's) to the LAN client: the
    /// LAN client's answers are forwarded back out by the uplink each connection came in on.
    @Test("a port forward to the LAN is answered by the incoming uplink", arguments: ways)
    func portForwardAnsweredByIncomingUplink(way: Installation) throws {
        try Lab.with { lab in
            try lab.install(Self.yaml, by: way)
            try must(
                ["ip", "netns", "exec", lab.host, "nft", "-f", "-"],
                input: """
                    table ip userfw {
                    \tchain prerouting {
                    \t\ttype nat hook prerouting priority dstnat; policy accept;
                    \t\tiifname "up*" meta l4proto { tcp, udp } th dport 8080 dnat to \(Lab.lanClientAddress):7
                    \t}
                    }

                    """)
            try lab.watchGateways()
            for n in 1...LabUplinks.count {
                let before = try lab.gatewayCounts()
                let answers =
                    try lab.echo(in: lab.server, .tcp, count: 3, to: LabUplinks.address(n), port: 8080)
                    + lab.echo(in: lab.server, .udp, count: 3, to: LabUplinks.address(n), port: 8080)
                // The LAN client sees the outside client's own address: forwarded, not masqueraded.
                #expect(answers == Array(repeating: "198.18.\(100 + n).2 eth0", count: 6), "in by up\(n): \(answers)")
                let grown = try lab.gatewayCounts() - before
                #expect(
                    grown.indices.allSatisfy { ($0 + 1 == n) == (grown[$0].packets > 0) },
                    "answers to connections in by up\(n) reached the gateways \(grown)")
            }
            if way != .iptablesScript {  // the iptables form has no named counters
                #expect(try lab.connectionCounters() == [0, 0, 0], "a forwarded inbound connection was balanced")
            }
        }
    }

    /// A program on the host that binds its socket to up2's address leaves by up2, every time,
    /// with the balancer active; unbound connections meanwhile still spread over all three.
    /// Not up1: the main table's default route goes by up1, so the kernel gives unbound sockets
    /// up1's address too, and a socket bound to it looks like any other (the README says so).
    @Test("a socket bound to an uplink's address leaves by that uplink", arguments: ways)
    func boundSocketLeavesByItsUplink(way: Installation) throws {
        try Lab.with { lab in
            try lab.install(Self.yaml, by: way)
            for n in [2, 3] {
                for transport in [Lab.Transport.tcp, .udp] {
                    let bound = try lab.echo(
                        in: lab.host, transport, count: 4, to: Lab.serviceAddress, sources: [LabUplinks.address(n)])
                    #expect(
                        bound == Array(repeating: "\(LabUplinks.address(n)) g\(n)", count: 4),
                        "\(transport) bound to up\(n)'s address: \(bound)")
                }
                let unbound = try lab.connections(from: .host, .tcp, count: 3)
                #expect(Set(unbound) == [1, 2, 3], "unbound connections: \(unbound)")
            }
        }
    }
}
