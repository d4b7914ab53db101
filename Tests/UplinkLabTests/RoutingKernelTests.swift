import Foundation
import Testing
import UplinkCore
import UplinkKernel

/// rtnetlink against a real kernel, in a throwaway namespace; `ip` is the independent witness.
@Suite(.enabled(if: Namespaces.enabled, "needs root and network namespaces"))
struct RoutingKernelTests {
    static let config = """
        mark-mask: 0xff00
        uplinks:
          - {name: up1, interface: up1, gateway: 198.18.1.1, weight: 2}
          - {name: up2, interface: up2, gateway: 198.18.2.1}
          - {name: up3, interface: up3}
        """

    @Test func rulesAndRoutesRoundTrip() throws {
        let state = Planner.plan(try ConfigParser.parse(Self.config, file: "test.yaml").get())
        try Namespaces.with(["host", "peer"]) { names in
            let (host, peer) = (names[0], names[1])
            for index in 1...3 {
                try must([
                    "ip", "link", "add", "up\(index)", "netns", host, "type", "veth", "peer", "name", "gw\(index)",
                    "netns", peer
                ])
                try must(["ip", "-n", host, "addr", "add", "198.18.\(index).2/24", "dev", "up\(index)"])
                try must(["ip", "-n", host, "link", "set", "up\(index)", "up"])
            }
            let foreignRule = ["ip", "-n", host, "rule", "add", "fwmark", "0x5", "lookup", "200", "priority", "31000"]
            try must(foreignRule)
            let kernel = try RoutingKernel(namespace: host)
            #expect(try kernel.snapshot().ownedRules.isEmpty)

            let links = try kernel.links()
            for route in state.routes { try kernel.add(route, links: links) }
            for rule in state.rules { try kernel.add(rule) }

            // Read back into the model: exactly what was planned, nothing foreign.
            #expect(try kernel.snapshot().ownedRoutes == state.routes)
            #expect(try kernel.snapshot().ownedRules == state.rules)
            // The witness agrees, line for line with the dry-run's commands.
            let rules = try must(["ip", "-n", host, "rule"])
            #expect(
                rules.contains("30999:\tnot from all fwmark 0/0xff00 lookup main suppress_prefixlength 0 proto 117"))
            #expect(rules.contains("31000:\tfrom all fwmark 0x100/0xff00 lookup 110 proto 117"))
            #expect(
                try must(["ip", "-n", host, "route", "show", "table", "110"]).contains(
                    "default via 198.18.1.1 dev up1 proto 117"))
            #expect(
                try must(["ip", "-n", host, "route", "show", "table", "112"]).contains(
                    "default dev up3 proto 117 scope link"))

            for rule in state.rules { try kernel.delete(rule) }
            for route in state.routes { try kernel.delete(route, links: links) }
            #expect(try kernel.snapshot().ownedRules.isEmpty)
            #expect(try kernel.snapshot().ownedRoutes.isEmpty)
            // The foreign rule at the same priority is still there.
            #expect(try must(["ip", "-n", host, "rule"]).contains("31000:\tfrom all fwmark 0x5 lookup 200"))
        }
    }

    /// Other programs' rules, every kind of selector and action, read back as `ip rule show`
    /// prints them: the witness and uplinkctl agree line for line, so the notices name rules
    /// exactly as the user sees them.
    @Test func foreignRulesReadAsIpShowsThem() throws {
        try Namespaces.with(["host"]) { names in
            let host = names[0]
            try must(
                ["ip", "-n", host, "-batch", "-"],
                input: [
                    "rule add from 198.18.5.0/24 to 198.19.0.0/16 lookup 200 priority 1000",
                    "rule add iif lo lookup 201 priority 1001",
                    "rule add uidrange 1000-2000 lookup 202 priority 1002",
                    "rule add ipproto tcp dport 443 lookup 203 priority 1003",
                    "rule add sport 1000-2000 lookup 204 priority 1004",
                    "rule add tos 0x10 lookup 205 priority 1005",
                    "rule add lookup main suppress_prefixlength 0 priority 1006",
                    "rule add nop priority 1008",
                    "rule add goto 1008 priority 1007",
                    "rule add oif lo lookup 207 priority 1010",
                    "rule add not iif eth9 lookup 208 priority 1011",
                    "rule add uidrange 5-5 lookup 209 priority 1012",
                    "rule add blackhole priority 1013",
                    "rule add fwmark 0x7 lookup 210 priority 1015",
                    "rule add fwmark 0/0xff lookup 210 priority 1017",
                    "rule add fwmark 0x80000/0xff0000 unreachable priority 5250",
                    "rule add not fwmark 0xca6c lookup 51820 priority 32765"
                ].joined(separator: "\n") + "\n")
            try must([
                "ip", "-n", host, "-6", "rule", "add", "from", "2001:2::/48", "dport", "53", "lookup", "206",
                "priority", "1009"
            ])
            let rules = try RoutingKernel(namespace: host).foreignRules()
            for family in IPFamily.allCases {
                let witness = try must(["ip", "-n", host, family == .ipv4 ? "-4" : "-6", "rule", "show"])
                let ours = rules.filter { $0.family == family }.map { "\($0.priority):\t\($0.description)\n" }.joined()
                #expect(ours == witness)
            }
            let https = try #require(rules.first { $0.priority == 1003 })
            #expect(https.transportProtocol == IPProtocolNumber.tcp && https.matchesPorts && https.table == 203)
            #expect(rules.first { $0.priority == 1001 }?.inputInterface == "lo")
            #expect(rules.first { $0.priority == 5250 }?.leadsElsewhere == true)
        }
    }

    @Test func refusalNamesTheObject() throws {
        try Namespaces.with(["host"]) { names in
            let kernel = try RoutingKernel(namespace: names[0])
            let route = Route(
                table: 110, destination: .defaultRoute(.ipv4), gateway: IPAddress("198.18.9.1"), device: "missing0")
            let error = #expect(throws: KernelRefusal.self) { try kernel.add(route, links: kernel.links()) }
            #expect(
                error?.description.contains("ip route add default via 198.18.9.1 dev missing0 table 110 proto 117")
                    == true)
        }
    }

    // MARK: Multipath routes, IPv6, from-rules

    /// Two dual-stack uplinks with gateways and an IPv4 point-to-point one, balanced by ECMP:
    /// single-path routes in both families, a weighted multipath default route per family, and
    /// `from ADDRESS` rules for the uplinks' own addresses.
    static func dualStackConfig(weights: [Int] = [3, 1, 2]) -> Config {
        Config(
            balance: .ecmp,
            uplinks: [
                Uplink(
                    name: "up1", interface: "up1", gateways: [IPAddress("198.18.1.1")!, IPAddress("2001:2:0:1::1")!],
                    weight: weights[0], mark: 0x100, table: 110),
                Uplink(
                    name: "up2", interface: "up2", gateways: [IPAddress("198.18.2.1")!, IPAddress("2001:2:0:2::1")!],
                    weight: weights[1], mark: 0x200, table: 111),
                Uplink(name: "up3", interface: "up3", families: [.ipv4], weight: weights[2], mark: 0x300, table: 112)
            ], ecmp: EcmpTarget(mark: 0x400, table: 113))
    }

    /// The whole plan written over netlink in one namespace and as the dry-run's `ip` commands
    /// in another: the kernel holds the same in both, and reads back as the model.
    @Test func dualStackPlanMatchesIPCommands() throws {
        try Namespaces.with(["ours", "witness", "peer"]) { names in
            let (ours, witness, peer) = (names[0], names[1], names[2])
            try Self.makeUplinks(ours, peer: peer, prefix: "a")
            try Self.makeUplinks(witness, peer: peer, prefix: "b")
            let kernel = try RoutingKernel(namespace: ours)
            let state = Planner.plan(Self.dualStackConfig(), facts: PlanFacts(links: try kernel.links()))
            // The from-rules carry the host addresses, not their networks, and no link-local one.
            let sources = Set(state.rules.compactMap(\.source).map(\.description))
            #expect(sources == ["198.18.1.2", "198.18.2.2", "198.18.3.2", "2001:2:0:1::2", "2001:2:0:2::2"])

            let links = try kernel.links()
            for route in state.routes { try kernel.add(route, links: links) }
            for rule in state.rules { try kernel.add(rule) }
            for command in state.routes.map({ IPCommands.route($0) }) + state.rules.map({ IPCommands.rule($0) }) {
                try must(["ip", "-n", witness] + command.dropFirst())
            }
            try Self.expectSame(ours, witness, state)

            let routing = try kernel.snapshot()
            #expect(routing.ownedRoutes == state.routes.sorted())
            #expect(routing.ownedRules == state.rules.sorted())
            #expect(routing.unknownOwnedRules.isEmpty)
            let witnessRouting = try RoutingKernel(namespace: witness).snapshot()
            #expect(witnessRouting.ownedRoutes == state.routes.sorted())
            #expect(witnessRouting.ownedRules == state.rules.sorted())
            #expect(witnessRouting.unknownOwnedRules.isEmpty)

            // The text `ip` prints, for the record.
            #expect(
                try Self.lines(["ip", "-n", ours, "route", "show", "table", "113"]) == [
                    "default proto 117", "nexthop via 198.18.1.1 dev up1 weight 3",
                    "nexthop via 198.18.2.1 dev up2 weight 1", "nexthop dev up3 weight 2"
                ])
            #expect(
                try Self.lines(["ip", "-n", ours, "-6", "route", "show", "table", "113"]) == [
                    "default proto 117 metric 1024 pref medium", "nexthop via 2001:2:0:1::1 dev up1 weight 3",
                    "nexthop via 2001:2:0:2::1 dev up2 weight 1"
                ])
            #expect(
                try Self.lines(["ip", "-n", ours, "-6", "route", "show", "table", "110"]) == [
                    "default via 2001:2:0:1::1 dev up1 proto 117 metric 1024 pref medium"
                ])
            let rules6 = try Self.lines(["ip", "-n", ours, "-6", "rule"])
            for line in [
                "30999:\tnot from all fwmark 0/0xff00 lookup main suppress_prefixlength 0 proto 117",
                "30999:\tfrom 2001:2:0:1::2 lookup main suppress_prefixlength 0 proto 117",
                "31000:\tfrom all fwmark 0x100/0xff00 lookup 110 proto 117",
                "31000:\tfrom all fwmark 0x400/0xff00 lookup 113 proto 117",
                "31001:\tfrom 2001:2:0:2::2 lookup 111 proto 117"
            ] {
                #expect(rules6.contains(line), "\(line) missing from:\n\(rules6.joined(separator: "\n"))")
            }
            let rules4 = try Self.lines(["ip", "-n", ours, "rule"])
            for line in [
                "30999:\tfrom 198.18.3.2 lookup main suppress_prefixlength 0 proto 117",
                "31001:\tfrom 198.18.1.2 lookup 110 proto 117"
            ] {
                #expect(rules4.contains(line), "\(line) missing from:\n\(rules4.joined(separator: "\n"))")
            }

            // Replace the multipath routes: other weights, and (IPv4) a member fewer.
            var replaced = state.routes.filter(\.isMultipath)
            for index in replaced.indices {
                replaced[index].nexthops = replaced[index].nexthops.prefix(2).enumerated().map { offset, hop in
                    Nexthop(gateway: hop.gateway, device: hop.device, weight: offset == 0 ? 1 : 7)
                }
            }
            for route in replaced {
                try kernel.replace(route, links: links)
                try must(["ip", "-n", witness] + IPCommands.route(route, .replace).dropFirst())
            }
            let expected = (state.routes.filter { !$0.isMultipath } + replaced).sorted()
            #expect(try kernel.snapshot().ownedRoutes == expected)
            #expect(
                try Self.lines(["ip", "-n", ours, "route", "show", "table", "113"]) == [
                    "default proto 117", "nexthop via 198.18.1.1 dev up1 weight 1",
                    "nexthop via 198.18.2.1 dev up2 weight 7"
                ])
            try Self.expectSame(ours, witness, state)

            // Delete everything: nothing of ours is left in either family.
            for rule in state.rules { try kernel.delete(rule) }
            for route in expected { try kernel.delete(route, links: links) }
            let empty = try kernel.snapshot()
            #expect(empty.ownedRoutes.isEmpty && empty.ownedRules.isEmpty && empty.unknownOwnedRules.isEmpty)
            for family in ["-4", "-6"] {
                #expect(try must(["ip", "-n", ours, family, "route", "show", "proto", "117", "table", "all"]).isEmpty)
                #expect(!(try must(["ip", "-n", ours, family, "rule"]).contains("proto 117")))
            }
        }
    }

    /// A from-rule someone else left with our tag but a wider selector (a destination) is still
    /// unknown; a plain from-rule is read into the model.
    @Test func fromRulesAreOursButDestinationsAreNot() throws {
        try Namespaces.with(["host"]) { names in
            let host = names[0]
            try must([
                "ip", "-n", host, "rule", "add", "from", "198.18.1.2/32", "lookup", "110", "priority", "31001",
                "protocol", "117"
            ])
            try must([
                "ip", "-n", host, "-6", "rule", "add", "from", "2001:2:0:1::/64", "lookup", "110", "priority", "31001",
                "protocol", "117"
            ])
            try must([
                "ip", "-n", host, "rule", "add", "from", "198.18.1.2/32", "to", "198.18.9.0/24", "lookup", "110",
                "priority", "31002", "protocol", "117"
            ])
            let routing = try RoutingKernel(namespace: host).snapshot()
            #expect(
                routing.ownedRules == [
                    RoutingRule(priority: 31001, source: IPPrefix("198.18.1.2/32"), table: 110),
                    RoutingRule(priority: 31001, source: IPPrefix("2001:2:0:1::/64"), table: 110)
                ])
            #expect(routing.unknownOwnedRules.map(\.priority) == [31002])
        }
    }

    /// IPv6 routes by device only and via a gateway, one of them link-local, in our tables.
    @Test func ipv6SinglePathRoutes() throws {
        try Namespaces.with(["host", "peer"]) { names in
            try Self.makeUplinks(names[0], peer: names[1], prefix: "a")
            let kernel = try RoutingKernel(namespace: names[0])
            let routes = [
                Route(
                    table: 110, destination: .defaultRoute(.ipv6), gateway: IPAddress("2001:2:0:1::1"), device: "up1"),
                Route(table: 111, destination: .defaultRoute(.ipv6), gateway: IPAddress("fe80::1"), device: "up2"),
                Route(table: 112, destination: .defaultRoute(.ipv6), gateway: nil, device: "up3"),
                Route(table: 112, destination: IPPrefix("2001:2:0:77::/64")!, gateway: nil, device: "up3")
            ]
            let links = try kernel.links()
            for route in routes { try kernel.add(route, links: links) }
            #expect(try kernel.snapshot().ownedRoutes == routes.sorted())
            #expect(
                try Self.lines(["ip", "-n", names[0], "-6", "route", "show", "table", "112"]) == [
                    "2001:2:0:77::/64 dev up3 proto 117 metric 1024 pref medium",
                    "default dev up3 proto 117 metric 1024 pref medium"
                ])
            #expect(
                try Self.lines(["ip", "-n", names[0], "-6", "route", "show", "table", "111"]) == [
                    "default via fe80::1 dev up2 proto 117 metric 1024 pref medium"
                ])
            // Replace a gateway route with a device route and back.
            try kernel.replace(
                Route(table: 110, destination: .defaultRoute(.ipv6), gateway: nil, device: "up1"), links: links)
            #expect(
                try Self.lines(["ip", "-n", names[0], "-6", "route", "show", "table", "110"]) == [
                    "default dev up1 proto 117 metric 1024 pref medium"
                ])
            // Single-path to multipath and back, in place.
            let multipath = Route(
                table: 110, destination: .defaultRoute(.ipv6),
                nexthops: [
                    Nexthop(gateway: IPAddress("2001:2:0:2::1"), device: "up2", weight: 4),
                    Nexthop(gateway: IPAddress("2001:2:0:1::1"), device: "up1", weight: 1)
                ])
            try kernel.replace(multipath, links: links)
            #expect(try kernel.snapshot().ownedRoutes.filter { $0.table == 110 } == [multipath])
            try kernel.replace(routes[0], links: links)
            #expect(try kernel.snapshot().ownedRoutes == routes.sorted())
            #expect(
                try Self.lines(["ip", "-n", names[0], "-6", "route", "show", "table", "110"]) == [
                    "default via 2001:2:0:1::1 dev up1 proto 117 metric 1024 pref medium"
                ])
            for route in routes { try kernel.delete(route, links: links) }
            #expect(try kernel.snapshot().ownedRoutes.isEmpty)
        }
    }

    /// IPv6 multipath has no device-only hops: the kernel's refusal names the route and says why.
    @Test func ipv6MultipathWithoutGatewayIsRefusedPlainly() throws {
        try Namespaces.with(["host", "peer"]) { names in
            try Self.makeUplinks(names[0], peer: names[1], prefix: "a")
            let kernel = try RoutingKernel(namespace: names[0])
            let route = Route(
                table: 113, destination: .defaultRoute(.ipv6),
                nexthops: [
                    Nexthop(gateway: IPAddress("2001:2:0:1::1"), device: "up1", weight: 2),
                    Nexthop(gateway: nil, device: "up3")
                ])
            let error = #expect(throws: KernelRefusal.self) { try kernel.add(route, links: kernel.links()) }
            #expect(
                error?.description.contains(
                    "ip -6 route add default table 113 proto 117 nexthop via 2001:2:0:1::1 dev up1 weight 2 nexthop "
                        + "dev up3 weight 1"
                ) == true, "\(String(describing: error))")
            #expect(
                error?.description.contains("Device only routes can not be added for IPv6 using the multipath API")
                    == true, "\(String(describing: error))")
        }
    }

    // MARK: Interface addresses and the gateway check

    @Test func interfaceAddressesBothFamilies() throws {
        try Namespaces.with(["host", "peer"]) { names in
            let host = names[0]
            try Self.makeUplinks(host, peer: names[1], prefix: "a")
            // A point-to-point address: the peer is a network we reach, not an address of ours.
            try must(["ip", "-n", host, "addr", "add", "198.18.9.1", "peer", "198.18.9.2/32", "dev", "up3"])
            try must([
                "ip", "-n", host, "addr", "add", "2001:2:0:9::1", "peer", "2001:2:0:9::2/128", "dev", "up3", "nodad"
            ])
            // An interface with IPv4 only (and, once up, the link-local IPv6 address every link gets).
            try must(["ip", "-n", host, "link", "add", "v4only", "type", "veth", "peer", "name", "v4peer"])
            try must(["ip", "-n", host, "addr", "add", "198.18.8.1/24", "dev", "v4only"])
            try must(["ip", "-n", host, "link", "set", "v4only", "up"])
            try must(["ip", "-n", host, "link", "set", "v4peer", "up"])
            let links = try RoutingKernel(namespace: host).links()
            let up1 = try #require(links["up1"])
            #expect(Set(up1.localAddresses.map(\.description)) == ["198.18.1.2", "2001:2:0:1::2"])
            #expect(Set(up1.addresses.map(\.description)) == ["198.18.1.0/24", "2001:2:0:1::/64"])
            let up3 = try #require(links["up3"])
            #expect(
                Set(up3.localAddresses.map(\.description)) == [
                    "198.18.3.2", "2001:2:0:3::2", "198.18.9.1", "2001:2:0:9::1"
                ])
            #expect(
                up3.addresses.map(\.description).contains("198.18.9.2")
                    && up3.addresses.map(\.description).contains("2001:2:0:9::2"))
            // The kernel gave up1 a link-local address too; it is not among ours.
            #expect(
                try must(["ip", "-n", host, "-6", "addr", "show", "dev", "up1", "scope", "link"]).contains("fe80::"))

            func problems(_ gateways: [String]) -> [String] {
                let config = Config(uplinks: [
                    Uplink(
                        name: "up1", interface: "up1", gateways: gateways.map { IPAddress($0)! }, mark: 0x100,
                        table: 110)
                ])
                return Preflight.problems(config, interfaces: links, foreignRules: [], foreignRoutes: [])
            }
            #expect(problems(["198.18.1.1", "2001:2:0:1::1"]).isEmpty)
            #expect(problems(["fe80::1"]).isEmpty)
            #expect(
                problems(["2001:2:0:5::1"]) == [
                    "uplink up1: gateway 2001:2:0:5::1 is not on a network of up1 (it has 2001:2:0:1::/64)"
                ])
            let bare = Config(uplinks: [
                Uplink(
                    name: "up2", interface: "v4only", gateways: [IPAddress("2001:2:0:5::1")!], mark: 0x100, table: 110)
            ])
            #expect(
                Preflight.problems(bare, interfaces: links, foreignRules: [], foreignRoutes: []) == [
                    "uplink up2: gateway 2001:2:0:5::1 is not on a network of v4only (it has no IPv6 address)"
                ])
        }
    }

    // MARK: ECMP with real traffic

    /// Many UDP flows through a 3:1 multipath route, per family: the peer counts, per link, the
    /// datagrams that arrived; both links carry flows, the heavier one about three quarters.
    @Test(arguments: [IPFamily.ipv4, .ipv6])
    func multipathSpreadsFlowsByWeight(family: IPFamily) throws {
        try Namespaces.with(["host", "peer"]) { names in
            let (host, peer) = (names[0], names[1])
            try Self.makeUplinks(host, peer: peer, prefix: "a")
            let v6 = family == .ipv6
            let target = v6 ? "2001:2:0:100::1" : "198.18.100.1"
            try must(["ip", "-n", peer, "addr", "add", target, "dev", "lo"] + (v6 ? ["nodad"] : []))
            try must([
                "ip", "netns", "exec", host, "sysctl", "-qw", "net.\(v6 ? "ipv6" : "ipv4").fib_multipath_hash_policy=1"
            ])
            let kernel = try RoutingKernel(namespace: host)
            let gateways = v6 ? ["2001:2:0:1::1", "2001:2:0:2::1"] : ["198.18.1.1", "198.18.2.1"]
            try kernel.add(
                Route(
                    table: 120, destination: .defaultRoute(family),
                    nexthops: [
                        Nexthop(gateway: IPAddress(gateways[0]), device: "up1", weight: 3),
                        Nexthop(gateway: IPAddress(gateways[1]), device: "up2", weight: 1)
                    ]), links: try kernel.links())
            try must([
                "ip", "-n", host, v6 ? "-6" : "-4", "rule", "add", "to", target, "lookup", "120", "priority", "100"
            ])
            try must(
                ["ip", "netns", "exec", peer, "nft", "-f", "-"],
                input: """
                    table inet count {
                      counter gw1 {}
                      counter gw2 {}
                      chain pre { type filter hook prerouting priority 0; policy accept;
                        iifname "gw1" udp dport 9999 counter name "gw1" drop
                        iifname "gw2" udp dport 9999 counter name "gw2" drop
                      }
                    }
                    """)
            // Neighbours known first, so no datagram waits in a queue that might overflow.
            for (index, gateway) in gateways.enumerated() {
                let link = try must(["ip", "-n", peer, "-o", "link", "show", "gw\(index + 1)"])
                let mac = String(
                    link.split(whereSeparator: \.isWhitespace).drop { $0 != "link/ether" }.dropFirst().first ?? "")
                try must([
                    "ip", "-n", host, "neigh", "replace", gateway, "lladdr", mac, "dev", "up\(index + 1)", "nud",
                    "permanent"
                ])
            }
            let flows = 400
            try must([
                "ip", "netns", "exec", host, "/usr/bin/python3", "-c",
                """
                import socket
                for _ in range(\(flows)):
                    s = socket.socket(
                        socket.AF_INET6 if \(v6 ? "True" : "False") else socket.AF_INET, socket.SOCK_DGRAM)
                    s.sendto(b"x", ("\(target)", 9999))
                    s.close()
                """
            ])
            let counts = try ["gw1", "gw2"].map { name in
                let text = try must(["ip", "netns", "exec", peer, "nft", "list", "counter", "inet", "count", name])
                return Int(text.split(whereSeparator: \.isWhitespace).drop { $0 != "packets" }.dropFirst().first ?? "")
                    ?? -1
            }
            #expect(counts.reduce(0, +) == flows, "per link \(counts)")
            // 4 standard deviations of a binomial(400, 3/4) share: ±0.087.
            let share = Double(counts[0]) / Double(flows)
            #expect(abs(share - 0.75) < 0.087, "up1 took \(counts[0]) of \(flows) flows, up2 \(counts[1])")
        }
    }

    // MARK: Helpers

    /// up1…up3 in `namespace`, veths to PREFIX-gw1…3 in `peer` holding the gateways; IPv4 and
    /// IPv6 (198.18.N.0/24, 2001:2:0:N::/64; the host is .2, the gateway .1).
    static func makeUplinks(_ namespace: String, peer: String, prefix: String) throws {
        for index in 1...3 {
            let gateway = prefix == "a" ? "gw\(index)" : "\(prefix)gw\(index)"
            try must([
                "ip", "link", "add", "up\(index)", "netns", namespace, "type", "veth", "peer", "name", gateway, "netns",
                peer
            ])
            try must(["ip", "-n", namespace, "addr", "add", "198.18.\(index).2/24", "dev", "up\(index)"])
            try must(["ip", "-n", namespace, "addr", "add", "2001:2:0:\(index)::2/64", "dev", "up\(index)", "nodad"])
            try must(["ip", "-n", namespace, "link", "set", "up\(index)", "up"])
            if prefix == "a" {
                try must(["ip", "-n", peer, "addr", "add", "198.18.\(index).1/24", "dev", gateway])
                try must(["ip", "-n", peer, "addr", "add", "2001:2:0:\(index)::1/64", "dev", gateway, "nodad"])
            }
            try must(["ip", "-n", peer, "link", "set", gateway, "up"])
        }
    }

    /// The output of a command, line by line, without the spaces `ip` leaves around them.
    static func lines(_ command: [String]) throws -> [String] {
        try must(command).split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
    }

    /// `ip route show table T` of every table of the plan, and `ip rule`, in both families.
    static func expectSame(_ ours: String, _ witness: String, _ state: DesiredState) throws {
        for (family, flag) in [(IPFamily.ipv4, "-4"), (.ipv6, "-6")] {
            for table in Set(state.routes.filter { $0.family == family }.map(\.table)).sorted() {
                let show = ["route", "show", "table", String(table)]
                #expect(
                    try lines(["ip", "-n", ours, flag] + show) == lines(["ip", "-n", witness, flag] + show),
                    "table \(table) \(flag)")
            }
            let family = flag
            #expect(
                try lines(["ip", "-n", ours, family, "rule"]) == lines(["ip", "-n", witness, family, "rule"]),
                "rules \(family)")
        }
    }
}
