import Foundation

/// Witnesses in the lab's gateways: what each gateway received from the host, counted by its
/// own nftables (a table the test loads in the gateway's namespace, never in the host). A
/// packet the host sends by upN can only arrive at gwN's `dn`, so these counters say which
/// uplink a packet really left by, replies included, whatever the server answered.
struct GatewayCount: Equatable, CustomStringConvertible {
    /// TCP and UDP packets from the host.
    var packets: Int
    /// New TCP and UDP flows from the host (the gateway's own conntrack).
    var flows: Int
    var description: String { "\(packets) packets/\(flows) flows" }
}

extension Lab {
    private static let witnessTable = "labwitness"

    /// Loads the counters in every gateway (once per lab, before the traffic to count).
    func watchGateways() throws {
        let rules = ["v4": "ipv4", "v6": "ipv6"].sorted { $0.key < $1.key }.map { suffix, family in
            """
            \t\tiifname "dn" meta nfproto \(family) meta l4proto { tcp, udp } counter name "packets-\(suffix)"
            \t\tiifname "dn" meta nfproto \(family) meta l4proto { tcp, udp } ct state new \
            counter name "flows-\(suffix)"
            """
        }.joined(separator: "\n")
        let table = """
            table inet \(Self.witnessTable) {
            \tcounter packets-v4 { }
            \tcounter flows-v4 { }
            \tcounter packets-v6 { }
            \tcounter flows-v6 { }
            \tchain prerouting {
            \t\ttype filter hook prerouting priority filter; policy accept;
            \(rules)
            \t}
            }

            """
        for gateway in gateways {
            try must(["ip", "netns", "exec", gateway, "nft", "-f", "-"], input: table)
        }
    }

    /// What each gateway has counted so far, uplink 1 first.
    func gatewayCounts(ipv6: Bool = false) throws -> [GatewayCount] {
        let suffix = ipv6 ? "v6" : "v4"
        return try gateways.map { gateway in
            let listing = try must([
                "ip", "netns", "exec", gateway, "nft", "list", "counters", "table", "inet", Self.witnessTable
            ])
            return GatewayCount(
                packets: Self.packets(in: listing, counter: "packets-\(suffix)"),
                flows: Self.packets(in: listing, counter: "flows-\(suffix)"))
        }
    }

    /// The packet count of one named counter in `nft list counters` output.
    private static func packets(in listing: String, counter: String) -> Int {
        guard let start = listing.range(of: "counter \(counter) {") else { return -1 }
        let rest = listing[start.upperBound...]
        guard let packets = rest.range(of: "packets ") else { return -1 }
        return Int(rest[packets.upperBound...].prefix { $0.isNumber }) ?? -1
    }
}

/// Per-gateway growth between two readings.
func - (after: [GatewayCount], before: [GatewayCount]) -> [GatewayCount] {
    zip(after, before).map { GatewayCount(packets: $0.packets - $1.packets, flows: $0.flows - $1.flows) }
}
