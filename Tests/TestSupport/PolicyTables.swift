@testable import UplinkCore

/// A dual-stack config that makes the planner use every nftables object it can produce:
/// verdict maps keyed by interface names, addresses, protocols and port ranges (concatenated),
/// a balance subset, bound-source maps for both families, IPv6 masquerade, and (with
/// `balance: hash`) jhash slot maps. Built in Swift so the encoding tests do not depend on the
/// config parser; the nft text it plans is in Fixtures/nft-debug/policies*.nft.
public enum PolicyTables {
    static func prefix(_ text: String) -> IPPrefix { IPPrefix(text)! }

    public static func config(balance: BalanceMode = .nth) -> Config {
        let uplinks = [
            Uplink(
                name: "up1", interface: "up1", gateways: [IPAddress("198.18.1.1")!, IPAddress("2001:2:1::1")!],
                weight: 2,
                mark: 0x100, table: 110, masquerade6: true),
            Uplink(name: "up2", interface: "up2", gateways: [IPAddress("198.18.2.1")!], mark: 0x200, table: 111),
            Uplink(name: "up3", interface: "up3", gateways: [IPAddress("2001:2:3::1")!], mark: 0x300, table: 112)
        ]
        let tcp = IPProtocolNumber.tcp
        let udp = IPProtocolNumber.udp
        let policies = [
            // The LAN, both families: never balanced.
            Policy(
                line: 1, match: PolicyMatch(destinations: [prefix("198.18.200.0/24"), prefix("2001:2:200::/64")]),
                action: .bypass),
            // Seed 002's wired-only ports: one map keyed by protocol . port.
            Policy(
                line: 2,
                match: PolicyMatch(
                    protocols: [tcp],
                    destinationPorts: [PortRange(21, 22), PortRange(80), PortRange(443), PortRange(6667)]),
                action: .uplink("up1")),
            Policy(
                line: 3, match: PolicyMatch(protocols: [udp], destinationPorts: [PortRange(53)]), action: .uplink("up1")
            ),
            // Seed 004: UDP to the WireGuard endpoint by Wi-Fi.
            Policy(
                line: 4, match: PolicyMatch(destinations: [prefix("198.18.50.7")], protocols: [udp]),
                action: .uplink("up2")),
            // Address . protocol . port ranges.
            Policy(
                line: 5,
                match: PolicyMatch(
                    destinations: [prefix("198.18.70.0/24"), prefix("2001:2:70::/48")], protocols: [tcp],
                    destinationPorts: [PortRange(443), PortRange(8000, 8080)]), action: .uplink("up2")),
            // Forwarded from one LAN interface and source: a weighted subset.
            Policy(
                line: 6,
                match: PolicyMatch(
                    sources: [prefix("198.18.201.0/24"), prefix("2001:2:201::/64")], inputInterfaces: ["lan0", "lan1"]),
                action: .balance([PolicyShare(uplink: "up1", weight: 1), PolicyShare(uplink: "up3", weight: 3)])),
            // Source ports, both transport protocols; IPv6 only uplink (IPv4: main table).
            Policy(
                line: 7, match: PolicyMatch(protocols: [tcp, udp], sourcePorts: [PortRange(1000, 2000)]),
                action: .uplink("up3")),
            // Prefixes that join and a range that is not a prefix.
            Policy(
                line: 8,
                match: PolicyMatch(destinations: [
                    prefix("198.18.60.0/23"), prefix("198.18.62.0/24"), prefix("2001:2:60::/47")
                ]),
                action: .uplink("up2")),
            Policy(
                line: 9, match: PolicyMatch(protocols: [IPProtocolNumber.icmp, IPProtocolNumber.icmpv6]),
                action: .bypass),
            Policy(line: 10, match: PolicyMatch(inputInterfaces: ["lan2"]), action: .uplink("up1")),
            // Every field at once: the longest key (60 bytes for IPv6).
            Policy(
                line: 11,
                match: PolicyMatch(
                    destinations: [prefix("198.18.80.0/24"), prefix("2001:2:80::/64")],
                    sources: [prefix("198.18.202.0/24"), prefix("2001:2:202::/64")], protocols: [tcp],
                    destinationPorts: [PortRange(443)], sourcePorts: [PortRange(1024, 65535)], inputInterfaces: ["lan3"]
                ),
                action: .uplink("up1")),
            // A concatenation without ranges: a hash, not an interval map.
            Policy(line: 12, match: PolicyMatch(protocols: [udp], inputInterfaces: ["lan4"]), action: .uplink("up2"))
        ]
        return Config(balance: balance, uplinks: uplinks, policies: policies)
    }

    public static let addresses = PlanFacts([
        "up1": [IPAddress("198.18.1.2")!, IPAddress("2001:2:1::2")!],
        "up2": [IPAddress("198.18.2.2")!],
        "up3": [IPAddress("2001:2:3::2")!]
    ])

    public static func plan(balance: BalanceMode = .nth) -> DesiredState {
        Planner.plan(config(balance: balance), facts: addresses)
    }
}
