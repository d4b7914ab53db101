import Testing

@testable import UplinkCore

/// The plan of the issue-5 features, checked as values: no kernel, no root.
@Suite("Planner: policies, inbound marks, bound addresses, hash, ECMP, dual stack")
struct PlannerTests {
    static func uplink(_ n: Int, v6: Bool = false, masquerade6: Bool = false) -> Uplink {
        var gateways = [IPAddress("198.18.\(n).1")!]
        if v6 { gateways.append(IPAddress("2001:2:0:\(n)::1")!) }
        return Uplink(
            name: "up\(n)", interface: "up\(n)", gateways: gateways, weight: 1,
            mark: UInt32(n) << 8, table: UInt32(109 + n), masquerade6: masquerade6)
    }

    static func prefix(_ text: String) -> IPPrefix { IPPrefix(text)! }

    static func config(_ policies: [Policy], balance: BalanceMode = .nth, v6: Bool = false) -> Config {
        Config(
            balance: balance, uplinks: (1...3).map { uplink($0, v6: v6 && $0 != 3) }, policies: policies,
            ecmp: balance == .ecmp ? EcmpTarget(mark: 0x400, table: 113) : nil)
    }

    static func chain(_ state: DesiredState, _ name: String) -> [String] {
        state.nftables.chain(named: name)!.rules.map(NftText.rule)
    }

    @Test func consecutiveEntriesWithTheSameKeysShareOneMap() {
        let state = Planner.plan(
            Self.config([
                Policy(
                    line: 1, match: PolicyMatch(destinations: [Self.prefix("198.19.1.0/24")]), action: .uplink("up2")),
                Policy(line: 2, match: PolicyMatch(destinations: [Self.prefix("198.19.2.0/24")]), action: .bypass),
                Policy(
                    line: 3, match: PolicyMatch(protocols: [6], destinationPorts: [PortRange(22), PortRange(80, 443)]),
                    action: .uplink("up1")),
                Policy(
                    line: 4, match: PolicyMatch(protocols: [17], destinationPorts: [PortRange(53)]),
                    action: .uplink("up1"))
            ]))
        #expect(
            Self.chain(state, "balance-v4") == [
                "ip daddr vmap @policy-v4-1",
                "meta l4proto . th dport vmap @policy-v4-2",
                "numgen inc mod 3 vmap @slots-v4"
            ])
        let first = state.nftables.map(named: "policy-v4-1")!
        #expect(first.isInterval && first.elements.map(\.verdict) == [.goto("new-up2"), .return])
        let second = state.nftables.map(named: "policy-v4-2")!
        #expect(
            NftText.mapElements(second)
                == "tcp . 22 : goto new-up1, tcp . 80-443 : goto new-up1, udp . 53 : goto new-up1")
    }

    /// The earlier entry must win, and one map cannot rank overlapping elements.
    @Test func anOverlappingEntryStartsANewMap() {
        let state = Planner.plan(
            Self.config([
                Policy(
                    line: 1, match: PolicyMatch(destinations: [Self.prefix("198.19.1.0/24")]), action: .uplink("up2")),
                Policy(
                    line: 2, match: PolicyMatch(destinations: [Self.prefix("198.19.0.0/16")]), action: .uplink("up3")),
                Policy(
                    line: 3, match: PolicyMatch(destinations: [Self.prefix("198.20.0.0/16")]), action: .uplink("up3")),
                Policy(line: 4, match: PolicyMatch(), action: .bypass),
                Policy(
                    line: 5, match: PolicyMatch(destinations: [Self.prefix("198.21.0.0/16")]), action: .uplink("up1"))
            ]))
        let rules = Self.chain(state, "balance-v4")
        #expect(
            rules == [
                "ip daddr vmap @policy-v4-1", "ip daddr vmap @policy-v4-2", "return",
                "ip daddr vmap @policy-v4-3", "numgen inc mod 3 vmap @slots-v4"
            ])
        #expect(state.nftables.map(named: "policy-v4-2")!.elements.count == 2)
    }

    @Test func entriesGoToTheFamiliesTheyCanMatch() {
        let state = Planner.plan(
            Self.config(
                [
                    Policy(
                        line: 1, match: PolicyMatch(destinations: [Self.prefix("2001:2:0:ff::/64")]),
                        action: .uplink("up1")),
                    Policy(line: 2, match: PolicyMatch(protocols: [IPProtocolNumber.icmp]), action: .uplink("up2")),
                    // up3 carries no IPv6: its IPv6 connections are left to the main table.
                    Policy(
                        line: 3, match: PolicyMatch(protocols: [17], destinationPorts: [PortRange(53)]),
                        action: .uplink("up3")),
                    Policy(
                        line: 4,
                        match: PolicyMatch(sources: [Self.prefix("198.18.200.0/24"), Self.prefix("2001:2:0:200::/64")]),
                        action: .balance([PolicyShare(uplink: "up2", weight: 2), PolicyShare(uplink: "up3", weight: 1)])
                    )
                ], v6: true))
        #expect(
            Self.chain(state, "balance-v4").elementsEqual([
                "meta l4proto vmap @policy-v4-1", "meta l4proto . th dport vmap @policy-v4-2",
                "ip saddr vmap @policy-v4-3", "numgen inc mod 3 vmap @slots-v4"
            ]))
        #expect(
            Self.chain(state, "balance-v6").elementsEqual([
                "ip6 daddr vmap @policy-v6-1", "meta l4proto . th dport vmap @policy-v6-2",
                "ip6 saddr vmap @policy-v6-3", "numgen inc mod 2 vmap @slots-v6"
            ]))
        #expect(NftText.mapElements(state.nftables.map(named: "policy-v6-2")!) == "udp . 53 : return")
        // The subset: 2:1 over up2 and up3 in IPv4; only up2 carries IPv6.
        #expect(
            NftText.mapElements(state.nftables.map(named: "pick-v4-4")!)
                == "0 : goto new-up2, 1 : goto new-up3, 2 : goto new-up2")
        // Only up2 carries IPv6: a subset of one goes straight to it, no pick chain.
        #expect(state.nftables.map(named: "pick-v6-4") == nil)
        #expect(NftText.mapElements(state.nftables.map(named: "policy-v6-3")!) == "2001:2:0:200::/64 : goto new-up2")
        #expect(NftText.mapElements(state.nftables.map(named: "slots-v6")!) == "0 : goto new-up1, 1 : goto new-up2")
    }

    @Test func dualStackRulesRoutesAndMasquerade() {
        var config = Self.config([], v6: true)
        config.uplinks[1].masquerade6 = true
        config.traffic = [.forwarded]
        let state = Planner.plan(config)
        #expect(
            state.rules.map { shellCommand(IPCommands.rule($0)) }.filter { $0.hasPrefix("ip -6") } == [
                "ip -6 rule add not fwmark 0x0/0xff00 lookup main suppress_prefixlength 0 priority 30999 protocol 117",
                "ip -6 rule add fwmark 0x100/0xff00 lookup 110 priority 31000 protocol 117",
                "ip -6 rule add fwmark 0x200/0xff00 lookup 111 priority 31000 protocol 117"
            ])
        #expect(
            state.routes.filter { $0.family == .ipv6 }.map { shellCommand(IPCommands.route($0)) } == [
                "ip -6 route add default via 2001:2:0:1::1 dev up1 table 110 proto 117",
                "ip -6 route add default via 2001:2:0:2::1 dev up2 table 111 proto 117"
            ])
        #expect(
            Self.chain(state, "postrouting") == [
                "meta nfproto ipv4 oifname \"up1\" masquerade", "meta nfproto ipv4 oifname \"up2\" masquerade",
                "meta nfproto ipv4 oifname \"up3\" masquerade", "meta nfproto ipv6 oifname \"up2\" masquerade"
            ])
        #expect(state.sysctls.map(\.key).contains("net.ipv6.conf.all.forwarding"))
        // Without local balancing, replies of inbound connections are still steered by their mark.
        #expect(Self.chain(state, "output") == ["ct mark & 0xff00 vmap @known"])
        // Packets of known connections stop after the first two rules; only new ones go on.
        #expect(
            Self.chain(state, "prerouting") == [
                "ct state != new ct mark & 0xff00 vmap @known", "ct state != new return",
                "iifname vmap @inbound", "meta nfproto ipv4 jump forwarded-v4",
                "meta nfproto ipv6 jump forwarded-v6"
            ])
        #expect(
            Self.chain(state, "forwarded-v6") == [
                "ct mark & 0xff00 vmap @known", "ct state != new return", "ip6 daddr @never-balanced-v6 return",
                "icmpv6 type 133-137 return", "fib daddr type local return",
                "fib daddr . mark oifname @uplink-route-interfaces goto balance-v6", "goto left-alone"
            ])
        #expect(state.nftables.set(named: "uplink-route-interfaces")?.interfaceNames == ["up1", "up2", "up3"])
        #expect(state.nftables.set(named: "uplink-interfaces") == nil)
    }

    @Test func ecmpMarksNewConnectionsForTheMultipathTable() {
        var config = Self.config(
            [Policy(line: 1, match: PolicyMatch(destinations: [Self.prefix("198.19.0.1/32")]), action: .uplink("up2"))],
            balance: .ecmp)
        config.uplinks[0].weight = 4
        config.uplinks[1].weight = 2
        let state = Planner.plan(config)
        #expect(
            state.routes.filter(\.isMultipath).map { shellCommand(IPCommands.route($0)) } == [
                "ip route add default table 113 proto 117 nexthop via 198.18.1.1 dev up1 weight 4 "
                    + "nexthop via 198.18.2.1 dev up2 weight 2 nexthop via 198.18.3.1 dev up3 weight 1"
            ])
        #expect(
            state.rules.contains(
                RoutingRule(priority: 31000, fwmark: MarkedBits(value: 0x400, mask: 0xff00), table: 113)))
        #expect(Self.chain(state, "balance-v4").suffix(2) == ["ip daddr vmap @policy-v4-1", "goto new-ecmp"])
        #expect(state.nftables.map(named: "slots-v4") == nil)
        #expect(
            NftText.mapElements(state.nftables.map(named: "known")!).hasSuffix("0x400 : goto via-ecmp, 0xff00 : return")
        )
        #expect(state.sysctls.map(\.key).contains("net.ipv4.fib_multipath_hash_policy"))
    }

    @Test func hashModeKeysTheSlotsByAddresses() {
        let state = Planner.plan(Self.config([], balance: .hash))
        #expect(
            Self.chain(state, "balance-v4").last == "jhash ip saddr . ip daddr mod 3 seed 0x75706c6b vmap @slots-v4")
    }

    @Test func everyUplinkAddressGetsItsFromRules() {
        let state = Planner.plan(
            Self.config([]), facts: PlanFacts(["up2": [IPAddress("198.18.2.2")!, IPAddress("fe80::1")!]]))
        #expect(
            state.rules.filter { $0.source != nil }.map { shellCommand(IPCommands.rule($0)) } == [
                "ip rule add from 198.18.2.2 lookup main suppress_prefixlength 0 priority 30999 protocol 117",
                "ip rule add from 198.18.2.2 lookup 111 priority 31001 protocol 117"
            ])
        #expect(
            NftText.mapElements(state.nftables.map(named: "bound-v4")!)
                == "1 : goto new-up1, 2 : goto new-up2, 3 : goto new-up3")
        #expect(state.routes.map(\.realm) == [1, 2, 3])
        #expect(
            Self.chain(state, "local-v4") == [
                "ct mark & 0xff00 vmap @known", "ct state != new return", "meta mark & 0xff00 vmap @socket-marks",
                "ip daddr @never-balanced-v4 return", "oifname \"lo\" return",
                "rt classid vmap @bound-v4", "oifname @uplink-interfaces goto balance-v4", "goto left-alone"
            ])
        #expect(
            Self.chain(state, "left-alone") == ["ct mark set ct mark & 0xffff00ff | 0xff00 counter name \"left-alone\""]
        )
        #expect(
            NftText.mapElements(state.nftables.map(named: "socket-marks")!)
                == "0x100 : return, 0x200 : return, 0x300 : return")
        #expect(
            Self.chain(state, "output") == [
                "ct state != new ct mark & 0xff00 vmap @known", "ct state != new return",
                "meta nfproto ipv4 jump local-v4"
            ])
        #expect(
            NftText.mapElements(state.nftables.map(named: "inbound")!)
                == "\"up1\" : goto in-up1, \"up2\" : goto in-up2, \"up3\" : goto in-up3")
        #expect(Self.chain(state, "in-up2") == ["ct state != new return", "ct mark set ct mark & 0xffff00ff | 0x200"])
    }

    /// Two uplinks on one segment: neither can claim a connection by its interface or address.
    @Test func aSharedInterfaceGetsNoInboundMarkAndNoFromRules() {
        var config = Self.config([])
        config.uplinks[1].interface = "up1"
        let state = Planner.plan(
            config, facts: PlanFacts(["up1": [IPAddress("198.18.1.2")!], "up3": [IPAddress("198.18.3.2")!]]))
        #expect(NftText.mapElements(state.nftables.map(named: "inbound")!) == "\"up3\" : goto in-up3")
        #expect(state.rules.compactMap(\.source).map(\.description) == ["198.18.3.2", "198.18.3.2"])
    }

    /// A socket bound to the address of the main default route's uplink looks unbound: only the
    /// other uplinks are recognised by realm.
    @Test func theMainDefaultUplinkIsNotInTheBoundMap() {
        let state = Planner.plan(Self.config([]), facts: PlanFacts([:], mainDefaultInterfaces: ["up1"]))
        #expect(NftText.mapElements(state.nftables.map(named: "bound-v4")!) == "2 : goto new-up2, 3 : goto new-up3")
    }
}
