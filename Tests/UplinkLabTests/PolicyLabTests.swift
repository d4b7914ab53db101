import Foundation
import TestSupport
import Testing

@testable import UplinkCore

/// Policies with real connections in the lab (Support/Lab.swift), installed by
/// `uplinkctl apply --netns` and by the nft dry-run script: pinned ports and destinations,
/// bypass, a protocol split and a balanced subset. The server answers "198.18.N.2 gN" for a
/// connection that left by upN; balanced connections follow the nth cycle, which counts only
/// the connections the balancer itself decides (a pinned or bypassed one takes no slot).
@Suite("Policies in the lab", .serialized, .enabled(if: Namespaces.enabled, "needs root and network namespaces"))
struct PolicyLabTests {
    static let uplinks = """
        balance: nth
        traffic: [local, forwarded]
        uplinks:
          - {name: up1, interface: up1, gateway: 198.18.1.1}
          - {name: up2, interface: up2, gateway: 198.18.2.1}
          - {name: up3, interface: up3, gateway: 198.18.3.1}

        """
    static let ways: [Installation] = [.apply, .nftScript, .iptablesScript]

    /// Seed 002's exemptions (examples/exemptions.yaml, with the lab's LAN): TCP to 22 and UDP
    /// to 53 always by up2, and one destination always by up3; 2W+1 connections of each from
    /// the host and from the LAN client, then balanced ones, which start the cycle at slot 0.
    @Test("pinned ports and destinations always take their uplink", arguments: ways)
    func pinnedPortsAndDestinations(way: Installation) throws {
        let yaml =
            Self.uplinks + """
                policies:
                  - destination: 198.18.200.0/24
                    bypass: true
                  - protocol: tcp
                    destination-port: [21, 22, 80, 443, 6667]
                    uplink: up2
                  - protocol: udp
                    destination-port: 53
                    uplink: up2
                  - destination: \(Lab.otherServiceAddress)
                    uplink: up3

                """
        try Lab.with { lab in
            try lab.install(yaml, by: way)
            var balanced = 0
            for client in [Lab.Client.host, .lan] {
                let count = 7
                let ssh = try lab.echo(in: lab.namespace(client), .tcp, count: count, to: Lab.serviceAddress, port: 22)
                #expect(ssh.map(Lab.uplink(answer:)) == Array(repeating: 2, count: count), "\(client) tcp/22: \(ssh)")
                let dns = try lab.echo(in: lab.namespace(client), .udp, count: count, to: Lab.serviceAddress, port: 53)
                #expect(dns.map(Lab.uplink(answer:)) == Array(repeating: 2, count: count), "\(client) udp/53: \(dns)")
                for transport in [Lab.Transport.tcp, .udp] {
                    let pinned = try lab.echo(
                        in: lab.namespace(client), transport, count: count, to: Lab.otherServiceAddress)
                    #expect(
                        pinned.map(Lab.uplink(answer:)) == Array(repeating: 3, count: count),
                        "\(client) \(transport) to \(Lab.otherServiceAddress): \(pinned)")
                }
                // UDP to 22 and TCP to 53 match no entry: balanced.
                let others =
                    try lab.echo(in: lab.namespace(client), .udp, count: 3, to: Lab.serviceAddress, port: 22)
                    + lab.echo(in: lab.namespace(client), .tcp, count: 4, to: Lab.serviceAddress, port: 53)
                let expected = (balanced..<balanced + 7).map { [1, 2, 3][$0 % 3] }
                #expect(others.map(Lab.uplink(answer:)) == expected, "\(client) balanced: \(others)")
                balanced += 7
            }
            // What the counters saw: 28 pinned to each of up2 and up3, and 14 balanced (slots 0 to 13).
            if way != .iptablesScript {  // the iptables form has no named counters
                #expect(try lab.connectionCounters() == [5, 28 + 5, 28 + 4], "conns-up1/2/3")
            }
        }
    }

    /// A bypassed destination (the LAN) is neither balanced nor counted, and takes no slot:
    /// after connections to the LAN, the next balanced connections take slots 0 and 1.
    @Test("a bypassed connection to the LAN takes no slot", arguments: ways)
    func bypassTakesNoSlot(way: Installation) throws {
        let yaml =
            Self.uplinks + """
                policies:
                  - destination: 198.18.200.0/24
                    bypass: true

                """
        try Lab.with { lab in
            try lab.install(yaml, by: way)
            for transport in [Lab.Transport.udp, .tcp] {
                let seen = try lab.echo(in: lab.host, transport, count: 2, to: Lab.lanClientAddress)
                #expect(
                    seen == Array(repeating: "\(Lab.hostLanAddress) eth0", count: 2),
                    "the LAN client saw \(transport) from \(seen)")
            }
            if way != .iptablesScript {
                #expect(try lab.connectionCounters() == [0, 0, 0], "a bypassed connection was counted")
            }
            let next = try lab.connections(from: .host, .udp, count: 2) + lab.connections(from: .lan, .tcp, count: 2)
            #expect(next == [1, 2, 3, 1], "after four LAN connections the balanced ones took \(next)")
            if way != .iptablesScript {
                #expect(try lab.connectionCounters() == [2, 1, 1])
            }
        }
    }

    /// Seed 004's split (examples/udp-to-wifi.yaml): UDP to one address always by up3, TCP to
    /// the same address balanced. Interleaved, so a UDP connection that took a slot would shift
    /// the TCP sequence.
    @Test("UDP to an address is pinned while TCP to it is balanced", arguments: ways)
    func protocolSplit(way: Installation) throws {
        let yaml =
            Self.uplinks + """
                policies:
                  - destination: \(Lab.serviceAddress)
                    protocol: udp
                    uplink: up3

                """
        try Lab.with { lab in
            try lab.install(yaml, by: way)
            var udp: [Int?] = []
            var tcp: [Int?] = []
            for round in 0..<7 {
                let client = round % 2 == 0 ? Lab.Client.host : .lan
                udp += try lab.connections(from: client, .udp, count: 1)
                tcp += try lab.connections(from: client, .tcp, count: 1)
            }
            #expect(udp == Array(repeating: 3, count: 7), "UDP: \(udp)")
            #expect(tcp == [1, 2, 3, 1, 2, 3, 1], "TCP: \(tcp)")
        }
    }

    /// One destination balanced over {up2: 2, up3: 1}: its own cycle (up2 up3 up2), up1 never;
    /// everything else keeps the main cycle over all three, interleaved without disturbing it.
    @Test("a policy balances over a subset with its own weights", arguments: ways)
    func balancedSubset(way: Installation) throws {
        let yaml =
            Self.uplinks + """
                policies:
                  - destination: \(Lab.otherServiceAddress)
                    balance: {up2: 2, up3: 1}

                """
        try Lab.with { lab in
            try lab.install(yaml, by: way)
            var subset: [Int?] = []
            var main: [Int?] = []
            for round in 0..<7 {
                let client = round < 4 ? Lab.Client.host : .lan
                let transport = round % 2 == 0 ? Lab.Transport.tcp : .udp
                subset += try lab.echo(in: lab.namespace(client), transport, count: 1, to: Lab.otherServiceAddress).map(
                    Lab.uplink(answer:))
                main += try lab.connections(from: client, transport, count: 1)
            }
            #expect(subset == (0..<7).map { labSlotOrder([2, 3], weights: [2, 1])[$0 % 3] }, "subset: \(subset)")
            #expect(main == [1, 2, 3, 1, 2, 3, 1], "main cycle: \(main)")
        }
    }
}

extension Lab {
    /// uplinkctl's per-uplink counters of new connections, `conns-up1` … `conns-up3`.
    func connectionCounters() throws -> [Int] {
        try (1...LabUplinks.count).map { n in
            let listing = try must([
                "ip", "netns", "exec", host, "nft", "list", "counter", "inet", "uplinkctl", "conns-up\(n)"
            ])
            guard let range = listing.range(of: "packets ") else { return -1 }
            return Int(listing[range.upperBound...].prefix { $0.isNumber }) ?? -1
        }
    }
}
