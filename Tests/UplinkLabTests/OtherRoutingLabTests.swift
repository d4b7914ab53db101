import Foundation
import TestSupport
import Testing

@testable import UplinkCore

/// Only what would leave by an uplink is balanced: a VPN's full tunnel, a user's table for a
/// prefix, keep their traffic; a container bridge's traffic, bound for the internet, is still
/// balanced; the connections left alone take no slot. Real connections, answered by whoever
/// received them (Support/LabNeighbours.swift).
@Suite(
    "Living with other policy routing", .serialized,
    .enabled(if: Namespaces.enabled, "needs root and network namespaces"))
struct OtherRoutingLabTests {
    static let lab = try! Paths.read(Paths.examples.appendingPathComponent("lab.yaml"))
    static let tunnelled = ["host": "\(LabTunnel.hostAddress) vpn0", "lan": "\(Lab.lanClientAddress) vpn0"]

    /// wg-quick's full tunnel: before and after uplinkctl, the host's and the LAN's connections
    /// leave by the tunnel; the tunnel's own packets (fwmark 0xca6c, routed by the main table)
    /// are balanced and answered; once the tunnel's rules are gone, everything is balanced, in
    /// slot order (the connections left alone took no slot). A flow left alone counts once,
    /// however many packets it sends before an answer. The iptables script cannot ask the
    /// routing in PREROUTING: it leaves the host's connections in the tunnel, and balances the
    /// LAN's, as its comment says.
    @Test("a wg-quick full tunnel keeps its connections", arguments: Installation.allCases)
    func fullTunnel(way: Installation) throws {
        try Lab.with { lab in
            try lab.withTunnel { _ in
                try lab.addFullTunnelRules()
                for transport in [Lab.Transport.tcp, .udp] {
                    #expect(
                        try lab.echo(from: .host, transport, count: 2)
                            == Array(repeating: Self.tunnelled["host"]!, count: 2))
                }
                try UplinkctlCLI.withConfig(Self.lab) { path in
                    if way == .apply {
                        let applied = try UplinkctlCLI.run(["apply", "--netns", lab.host, path])
                        try #require(applied.status == 0, "\(applied.stderr)")
                        let note =
                            "uplinkctl: note (namespace \(lab.host)): ip rule 32765: not from all fwmark 0xca6c lookup "
                            + "51820 comes after uplinkctl's rules (priority 31000)"
                        #expect(applied.stderr.contains(note), "\(applied.stderr)")
                    } else {
                        try lab.install(Self.lab, by: way)
                    }
                    var leftAlone = 0
                    for client in [Lab.Client.host, .lan] {
                        for transport in [Lab.Transport.tcp, .udp] {
                            let seen = try lab.echo(from: client, transport, count: 3)
                            if way == .iptablesScript && client == .lan {
                                #expect(seen.map(Lab.uplink(answer:)) == [1, 2, 3], "\(client) \(transport): \(seen)")
                            } else {
                                leftAlone += 3
                                let tunnelled = Array(repeating: Self.tunnelled["\(client)"]!, count: 3)
                                #expect(seen == tunnelled, "\(client) \(transport): \(seen)")
                            }
                        }
                    }
                    // The tunnel's own encrypted packets leave by the main table's route: balanced.
                    let own = try lab.echo(in: lab.host, .udp, count: 3, to: Lab.serviceAddress, mark: 0xca6c)
                    #expect(own.map(Lab.uplink(answer:)) == [1, 2, 3], "the tunnel's own packets: \(own)")
                    if way == .apply {
                        // Three datagrams of one flow, never answered (nothing listens on port 9).
                        let flow =
                            "import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
                            + "for _ in range(3): s.sendto(b'x', ('\(Lab.serviceAddress)', 9))\n"
                        try must(["ip", "netns", "exec", lab.host, Lab.python, "-c", flow])
                        let status = try lab.status(path)
                        #expect(status.leftAlone == UInt64(leftAlone + 1), "\(status)")
                        #expect(status.uplinks.map(\.connections) == [1, 1, 1], "\(status)")
                    }

                    try lab.removeFullTunnelRules()
                    let first = way == .iptablesScript ? 9 : 3
                    let batches = try lab.slotOrderBatches([1, 2, 3], from: first)
                    for batch in batches {
                        #expect(
                            batch.seen == batch.expected,
                            "\(batch.what): uplinks \(batch.seen), expected \(batch.expected)")
                    }
                }
            }
        }
    }

    /// AllowedIPs = ::/0 only: the IPv6 connections of the host and of the LAN keep the tunnel,
    /// the IPv4 ones are balanced, each family counted apart.
    @Test func anIPv6TunnelKeepsIPv6WhileIPv4IsBalanced() throws {
        try Lab.with(ipv6: true) { lab in
            try lab.withTunnel { _ in
                try lab.addFullTunnelRules(.ipv6)
                try UplinkctlCLI.withConfig(DualStackLabTests.yaml(masquerade6: false)) { path in
                    let applied = try UplinkctlCLI.run(["apply", "--netns", lab.host, path])
                    try #require(applied.status == 0, "\(applied.stderr)")
                    #expect(
                        applied.stderr.contains(
                            "uplinkctl: note (namespace \(lab.host)): ip -6 rule 32765: not from all "
                                + "fwmark 0xca6c lookup 51820"), "\(applied.stderr)")
                    let v6 =
                        try lab.echo(in: lab.lan, .tcp, count: 2, to: Lab.serviceAddress6)
                        + lab.echo(in: lab.host, .udp, count: 2, to: Lab.serviceAddress6)
                    let tunnelled = [
                        "\(Lab.lanClientAddress6) vpn0", "\(Lab.lanClientAddress6) vpn0",
                        "\(LabTunnel.hostAddress6) vpn0", "\(LabTunnel.hostAddress6) vpn0"
                    ]
                    #expect(v6 == tunnelled)
                    let v4 =
                        try lab.echo(in: lab.lan, .tcp, count: 2, to: Lab.serviceAddress)
                        + lab.echo(in: lab.host, .udp, count: 2, to: Lab.serviceAddress)
                    #expect(v4.map(Lab.uplink(answer:)) == [1, 2, 1, 2], "\(v4)")
                    let status = try lab.status(path)
                    #expect(status.leftAlone == 4 && status.uplinks.map(\.connections) == [2, 2, 0], "\(status)")
                }
            }
        }
    }

    /// A user's rule for one destination, after uplinkctl's, into a table of its own by the
    /// tunnel: that destination keeps its table, every other connection is balanced, and the
    /// ones to it take no slot, interleaved as they are.
    @Test(
        "a rule to a prefix after uplinkctl's keeps its table, and shifts no slot",
        arguments: [Installation.apply, .nftScript])
    func prefixKeepsItsTable(way: Installation) throws {
        try Lab.with { lab in
            try lab.withTunnel { _ in
                try lab.batch(
                    lab.host,
                    [
                        "route add default via \(LabTunnel.farAddress) dev tun0 table 200",
                        "rule add to \(Lab.otherServiceAddress) lookup 200 priority 32000"
                    ])
                try UplinkctlCLI.withConfig(Self.lab) { path in
                    if way == .apply {
                        let applied = try UplinkctlCLI.run(["apply", "--netns", lab.host, path])
                        try #require(applied.status == 0, "\(applied.stderr)")
                        #expect(
                            applied.stderr == "uplinkctl: note (namespace \(lab.host)): ip rule "
                                + "32000: from all to 198.19.0.2 lookup 200 comes after uplinkctl's "
                                + "rules (priority 31000): new connections it sends by an interface "
                                + "that is not an uplink's are left alone, not balanced\n")
                    } else {
                        try lab.install(Self.lab, by: way)
                    }
                    var balanced: [Int?] = []
                    for client in [Lab.Client.host, .lan] {
                        for _ in 0..<3 {
                            let aside = try lab.echo(
                                in: lab.namespace(client), .udp, count: 1, to: Lab.otherServiceAddress)
                            #expect(
                                aside == [Self.tunnelled["\(client)"]!],
                                "\(client) to \(Lab.otherServiceAddress): \(aside)")
                            balanced += try lab.connections(from: client, .tcp, count: 1)
                        }
                    }
                    #expect(balanced == [1, 2, 3, 1, 2, 3])
                    if way == .apply {
                        let status = try lab.status(path)
                        #expect(status.leftAlone == 6 && status.uplinks.map(\.connections) == [2, 2, 2], "\(status)")
                    }
                }
            }
        }
    }

    /// A container behind a bridge reaches the internet through the host: its route leaves by
    /// an uplink, so its connections are balanced like the LAN's. The host's own connections to
    /// the container route by the bridge: left alone, and they take no slot.
    @Test("a container bridge's forwarded traffic is still balanced", arguments: [Installation.apply, .nftScript])
    func bridgedContainerIsBalanced(way: Installation) throws {
        try Lab.with { lab in
            try lab.withBridgedContainer { container in
                try UplinkctlCLI.withConfig(Self.lab) { path in
                    try lab.install(Self.lab, by: way)
                    let inside = try lab.withEchoServer(
                        in: container, addresses: [LabNeighbours.containerAddress], devices: ["ctr0"]
                    ) {
                        try lab.echo(in: lab.host, .tcp, count: 2, to: LabNeighbours.containerAddress)
                    }
                    #expect(inside == Array(repeating: "\(LabNeighbours.bridgeAddress) ctr0", count: 2))
                    for transport in [Lab.Transport.tcp, .udp] {
                        let seen = try lab.echo(in: container, transport, count: 6, to: Lab.serviceAddress)
                        #expect(seen.map(Lab.uplink(answer:)) == [1, 2, 3, 1, 2, 3], "\(transport): \(seen)")
                    }
                    if way == .apply {
                        let status = try lab.status(path)
                        #expect(status.leftAlone == 2 && status.uplinks.map(\.connections) == [4, 4, 4], "\(status)")
                    }
                }
            }
        }
    }

    /// check names the tunnel's rule, read from the namespace; with a rule by input interface
    /// it warns, with the policy that fixes it.
    @Test func checkNamesTheRulesAfterOurs() throws {
        try Lab.with { lab in
            try lab.withTunnel { _ in
                try lab.addFullTunnelRules()
                try lab.batch(
                    lab.host,
                    [
                        "route add default via \(LabTunnel.farAddress) dev tun0 table 300",
                        "rule add iif lan0 lookup 300 priority 32100"
                    ])
                let result = try UplinkctlCLI.withConfig(
                    try Paths.read(Paths.examples.appendingPathComponent("lab.yaml"))
                ) { config in
                    try UplinkctlCLI.run(["check", "--netns", lab.host, config])
                }
                #expect(result.status == 0)
                let leftAlone =
                    " comes after uplinkctl's rules (priority 31000): new connections it sends by an interface that "
                    + "is not an uplink's are left alone, not balanced"
                let unseen =
                    " matches by input interface (iif lan0), which the route lookup uplinkctl makes "
                    + "for a forwarded connection cannot see as its routing does (it asks as if "
                    + "from this host, without ports or protocol): connections arriving on lan0 "
                    + "are balanced whenever the main routing sends them by an uplink; to leave "
                    + "them to this rule, add the policy `- {in-interface: lan0, bypass: true}`"
                let guest = "ip rule 32100: from all iif lan0 lookup 300"
                let tunnel = "ip rule 32765: not from all fwmark 0xca6c lookup 51820"
                let place = "(namespace \(lab.host)): "
                let expected: [String] = [
                    "uplinkctl: note " + place + guest + leftAlone, "uplinkctl: warning " + place + guest + unseen,
                    "uplinkctl: note " + place + tunnel + leftAlone
                ]
                #expect(result.stderr.split(separator: "\n").map(String.init) == expected, "\(result.stderr)")
            }
        }
    }
}

/// A socket that carries an uplink's mark (SO_MARK), as `ping -m` and `run`'s health probes do,
/// leaves by that uplink whatever the main table says, and takes no slot and no count.
@Suite(
    "Sockets marked for an uplink", .serialized, .enabled(if: Namespaces.enabled, "needs root and network namespaces"))
struct MarkedSocketLabTests {
    @Test(arguments: [Installation.apply, .nftScript, .iptablesScript])
    func aMarkedSocketKeepsItsUplink(way: Installation) throws {
        let yaml = OtherRoutingLabTests.lab
        try Lab.with { lab in
            try UplinkctlCLI.withConfig(yaml) { path in
                try lab.install(yaml, by: way)
                for transport in [Lab.Transport.udp, .tcp] {
                    let marked = try lab.echo(in: lab.host, transport, count: 2, to: Lab.serviceAddress, mark: 0x300)
                    #expect(marked.map(Lab.uplink(answer:)) == [3, 3], "\(transport): \(marked)")
                }
                let next = try lab.connections(from: .host, .udp, count: 3)
                #expect(next == [1, 2, 3], "the marked sockets took slots: \(next)")
                if way == .apply {
                    let status = try lab.status(path)
                    #expect(status.uplinks.map(\.connections) == [1, 1, 1] && status.leftAlone == 0, "\(status)")
                }
            }
        }
    }
}
