import TestSupport
import Testing

@testable import UplinkCore
@testable import UplinkKernel

/// Every nftables object the planner makes for policies, hash balancing and IPv6, applied
/// through the Kernel API in a throwaway namespace and read back: nft lists it exactly as the
/// table `nft -f` builds from the dry-run's text, and a second apply has nothing to do.
/// The plan's nft table only: routes, rules and sysctls have their own tests.
@Suite(
    "policy tables apply and read back", .serialized,
    .enabled(if: Namespaces.enabled, "needs root and network namespaces"))
struct PolicyApplyTests {
    /// The uplinks' interfaces, with the addresses PolicyTables plans with, so that routes and
    /// `from` rules apply too.
    static func makeUplinks(_ namespace: String) throws {
        let addresses = [
            ("up1", ["198.18.1.2/24", "2001:2:1::2/64"]), ("up2", ["198.18.2.2/24"]), ("up3", ["2001:2:3::2/64"])
        ]
        for (name, prefixes) in addresses {
            // A veth pair inside the namespace: this kernel has no dummy interfaces.
            try must(["ip", "-n", namespace, "link", "add", name, "type", "veth", "peer", "name", "\(name)-peer"])
            try must(["ip", "-n", namespace, "link", "set", "\(name)-peer", "up"])
            for prefix in prefixes {
                try must(
                    ["ip", "-n", namespace, "address", "add", prefix, "dev", name]
                        + (prefix.contains(":") ? ["nodad"] : []))
            }
            try must(["ip", "-n", namespace, "link", "set", name, "up"])
        }
    }

    /// The plan without its routes, rules and sysctls.
    static func tableOnly(_ plan: DesiredState) -> DesiredState {
        var state = plan
        state.rules = []
        state.routes = []
        state.sysctls = []
        return state
    }

    /// Applies what differs from `state` and gives the live state read back afterwards.
    @discardableResult
    static func apply(_ state: DesiredState, in namespace: String) throws -> LiveState {
        let kernel = try Kernel(namespace: namespace)
        let snapshot = try kernel.snapshot()
        let live = try kernel.live(snapshot, desired: state, record: SysctlRecord())
        try kernel.apply(StateDiff.changes(from: live, to: state, record: SysctlRecord()), over: snapshot)
        return try kernel.live(try kernel.snapshot(), desired: state, record: SysctlRecord())
    }

    static func listing(_ namespace: String) throws -> String {
        try must(["ip", "netns", "exec", namespace, "nft", "list", "table", "inet", Ownership.nftTableName])
    }

    @Test(arguments: [BalanceMode.nth, .hash])
    func theAppliedTableIsNftsTableAndReadsBackAsPlanned(balance: BalanceMode) throws {
        let state = Self.tableOnly(PolicyTables.plan(balance: balance))
        try Namespaces.with(["host", "nft"]) { names in
            try Self.makeUplinks(names[0])
            let live = try Self.apply(state, in: names[0])
            // (a) The same listing as nft's own table for the dry-run's text.
            try must(["ip", "netns", "exec", names[1], "nft", "-f", "-"], input: NftText.table(state.nftables))
            #expect(try Self.listing(names[0]) == (try Self.listing(names[1])))
            // (b) Read back into the same model: nothing left to change.
            let table = try #require(live.nftables)
            #expect(table.unreadableSets.isEmpty)
            #expect(table.model == state.nftables)
            #expect(table.chains.allSatisfy { $0.rules.allSatisfy { $0.rule != nil } })
            let again = StateDiff.changes(from: live, to: state, record: SysctlRecord())
            #expect(again.isEmpty, "\(again.lines)")
        }
    }

    /// Elements removed by hand from each kind of map come back, element by element, and
    /// nothing else is rewritten.
    @Test func removedElementsAreRepaired() throws {
        let state = Self.tableOnly(PolicyTables.plan())
        try Namespaces.with(["host"]) { names in
            try Self.makeUplinks(names[0])
            try Self.apply(state, in: names[0])
            let before = try must([
                "ip", "netns", "exec", names[0], "nft", "-a", "list", "table", "inet", Ownership.nftTableName
            ])
            for (map, element) in [
                ("policy-v4-1", "198.18.200.0/24"), ("policy-v4-7", "198.18.60.0/23"),
                ("policy-v4-4", "198.18.70.0/24 . tcp . 8000-8080"),
                ("policy-v6-3", "2001:2:70::/48 . tcp . 8000-8080"),
                ("policy-v4-11", "\"lan4\" . udp"), ("policy-v6-7", "ipv6-icmp"), ("inbound", "\"up2\"")
            ] {
                try must([
                    "ip", "netns", "exec", names[0], "nft", "delete", "element", "inet", Ownership.nftTableName, map,
                    "{ \(element) }"
                ])
            }
            let kernel = try Kernel(namespace: names[0])
            let broken = try kernel.live(try kernel.snapshot(), desired: state, record: SysctlRecord())
            let changes = StateDiff.changes(from: broken, to: state, record: SysctlRecord())
            #expect(
                changes.nftables.count == 7
                    && changes.nftables.allSatisfy {
                        if case .addMapElements(let map) = $0 { return map.elements.count == 1 } else { return false }
                    }, "\(changes.lines)")
            let repaired = try Self.apply(state, in: names[0])
            #expect(StateDiff.changes(from: repaired, to: state, record: SysctlRecord()).isEmpty)
            #expect(
                try must(["ip", "netns", "exec", names[0], "nft", "-a", "list", "table", "inet", Ownership.nftTableName]
                ) == before)
        }
    }

    /// Elements the plan no longer has are deleted one by one (as nft deletes them: keys only,
    /// no leading interval end), and the rest of each map stays.
    @Test func elementsLeftOutAreDeleted() throws {
        let state = Self.tableOnly(PolicyTables.plan())
        var fewer = state
        for name in [
            "policy-v4-1", "policy-v4-7", "policy-v4-4", "policy-v6-9", "policy-v4-11", "policy-v4-5", "inbound",
            "slots-v4"
        ] {
            let index = try #require(fewer.nftables.maps.firstIndex { $0.name == name })
            fewer.nftables.maps[index].elements.removeFirst()
        }
        try Namespaces.with(["host", "nft"]) { names in
            try Self.makeUplinks(names[0])
            try Self.apply(state, in: names[0])
            let live = try Self.apply(fewer, in: names[0])
            #expect(live.nftables?.model == fewer.nftables)
            #expect(StateDiff.changes(from: live, to: fewer, record: SysctlRecord()).isEmpty)
            try must(["ip", "netns", "exec", names[1], "nft", "-f", "-"], input: NftText.table(fewer.nftables))
            #expect(try Self.listing(names[0]) == (try Self.listing(names[1])))
            // And back.
            #expect(try Self.apply(state, in: names[0]).nftables?.model == state.nftables)
        }
    }

    /// 2,000 entries of the longest key (IPv6, all six fields, 60 bytes, ranges in four of them)
    /// apply in one transaction, cut into element messages that each fit a netlink attribute,
    /// and read back unchanged; so does a 2,000-entry address map.
    @Test func twoThousandConcatenatedElementsApplyAndReadBack() throws {
        var config = PolicyTables.config()
        config.policies = (0..<2000).map { index in
            let prefix = IPPrefix("2001:2:\(String(index, radix: 16))::/64")!
            let source = IPPrefix("198.18.\(index / 256).\(index % 256)")!
            return Policy(
                line: index + 1,
                match: PolicyMatch(
                    destinations: [prefix, source],
                    sources: [IPPrefix("2001:2:ffff::/48")!, IPPrefix("198.18.255.0/24")!],
                    protocols: [IPProtocolNumber.tcp],
                    destinationPorts: [PortRange(UInt16(1000 + index), UInt16(1000 + index))],
                    sourcePorts: [PortRange(1024, 65535)], inputInterfaces: ["lan0"]),
                action: .uplink(index % 2 == 0 ? "up1" : "up3"))
        }
        let state = Self.tableOnly(Planner.plan(config, facts: PolicyTables.addresses))
        let big = try #require(state.nftables.map(named: "policy-v6-1"))
        #expect(big.elements.count == 2000)
        let messages = NftMessages(table: Ownership.nftTableName).messages(.addMap(big), setID: 1)
        #expect(messages.count > 2)
        try Namespaces.with(["host", "nft"]) { names in
            try Self.makeUplinks(names[0])
            let live = try Self.apply(state, in: names[0])
            #expect(live.nftables?.map(named: "policy-v6-1") == big)
            #expect(live.nftables?.map(named: "policy-v4-1")?.elements.count == 2000)
            #expect(StateDiff.changes(from: live, to: state, record: SysctlRecord()).isEmpty)
            try must(["ip", "netns", "exec", names[1], "nft", "-f", "-"], input: NftText.table(state.nftables))
            #expect(try Self.listing(names[0]) == (try Self.listing(names[1])))
        }
    }
}

extension LiveNftTable {
    func map(named name: String) -> NftVerdictMap? { maps.first { $0.name == name } }
}
