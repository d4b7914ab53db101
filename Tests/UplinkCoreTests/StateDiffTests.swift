import Testing

@testable import UplinkCore

/// The pure diff: what apply would change, computed from a live state read back into the model.
@Suite struct StateDiffTests {
    static func plan(_ yaml: String) throws -> DesiredState {
        Planner.plan(try ConfigParser.parse(yaml, file: "test.yaml").get())
    }

    static let threeEqual = """
        uplinks:
          - {name: a, interface: eth0, gateway: 198.18.1.1}
          - {name: b, interface: eth1, gateway: 198.18.2.1}
          - {name: c, interface: eth2, gateway: 198.18.3.1}
        """

    /// The live state as the kernel would give it back once `state` is installed.
    static func installed(_ state: DesiredState) -> LiveState {
        var handle: UInt64 = 0
        let table = state.nftables
        let chains = table.chains.map { chain in
            LiveNftChain(
                name: chain.name, hook: chain.hook,
                rules: chain.rules.map { rule in
                    handle += 1
                    return LiveNftRule(handle: handle, expressions: NftRuleEncoding.expressions(rule))
                })
        }
        return LiveState(
            rules: state.rules, routes: state.routes,
            nftables: LiveNftTable(
                counters: table.counters, sets: table.sets, maps: table.maps, unreadableSets: [], chains: chains),
            sysctls: state.sysctls)
    }

    @Test func inSyncMeansNoChange() throws {
        let state = try Self.plan(Self.threeEqual)
        #expect(StateDiff.changes(from: Self.installed(state), to: state, record: SysctlRecord()).isEmpty)
    }

    @Test func aWeightChangeTouchesOnlyTheSlots() throws {
        let before = try Self.plan(Self.threeEqual)
        let after = try Self.plan(
            Self.threeEqual.replacingOccurrences(of: "gateway: 198.18.1.1}", with: "gateway: 198.18.1.1, weight: 2}"))
        let changes = StateDiff.changes(from: Self.installed(before), to: after, record: SysctlRecord())
        #expect(
            changes.routesToAdd.isEmpty && changes.rulesToAdd.isEmpty && changes.rulesToDelete.isEmpty
                && changes.routesToDelete.isEmpty)
        #expect(
            changes.lines == [
                "- nft delete rule inet uplinkctl balance-v4 handle 14 # numgen inc mod 3 vmap @slots-v4",
                "- nft delete map inet uplinkctl slots-v4",
                "+ nft add map inet uplinkctl slots-v4 { typeof numgen inc mod 4 : verdict; elements "
                    + "= { 0 : goto new-a, 1 : goto new-b, 2 : goto new-a, 3 : goto new-c } }",
                "+ nft add rule inet uplinkctl balance-v4 numgen inc mod 4 vmap @slots-v4"
            ])
    }

    @Test func aRuleMissingInTheMiddleIsInsertedInPlace() throws {
        let state = try Self.plan(Self.threeEqual)
        var live = Self.installed(state)
        let index = live.nftables!.chains.firstIndex { $0.name == "local-v4" }!
        live.nftables!.chains[index].rules.remove(at: 1)
        let changes = StateDiff.changes(from: live, to: state, record: SysctlRecord())
        #expect(changes.lines == ["+ nft insert rule inet uplinkctl local-v4 position 17 ct state != new return"])
    }

    @Test func removingAnUplinkRemovesOnlyItsObjects() throws {
        let before = try Self.plan(Self.threeEqual)
        let after = try Self.plan(Self.threeEqual.split(separator: "\n").dropLast().joined(separator: "\n"))
        let changes = StateDiff.changes(from: Self.installed(before), to: after, record: SysctlRecord())
        #expect(changes.routesToAdd.isEmpty && changes.rulesToAdd.isEmpty)
        #expect(changes.rulesToDelete.map(\.table) == [112])
        #expect(changes.routesToDelete.map(\.nexthops) == [[Nexthop(gateway: IPAddress("198.18.3.1"), device: "eth2")]])
        let removed = changes.nftables.filter { !$0.isAddition }.map(\.command)
        #expect(
            removed.contains("nft delete chain inet uplinkctl via-c")
                && removed.contains("nft delete counter inet uplinkctl conns-c"))
        #expect(!removed.contains { $0.contains("via-a") || $0.contains("via-b") })
    }

    @Test func flushRestoresOnlyWhatWasChanged() throws {
        let state = try Self.plan(Self.threeEqual)
        let path = ["net", "ipv4", "conf", "eth0", "rp_filter"]
        let record = SysctlRecord(entries: [.init(path: path, original: "1", written: "2")])
        let changes = StateDiff.changes(from: Self.installed(state), to: nil, record: record)
        #expect(changes.nftables == [.deleteTable])
        #expect(changes.rulesToDelete.count == 4 && changes.routesToDelete.count == 3)
        #expect(changes.sysctls == [SysctlChange(path: path, value: "1", previous: "2", isRestore: true)])
    }

    /// A setting someone changed after uplinkctl wrote it is theirs now: flush leaves it.
    @Test func flushLeavesASettingChangedSince() throws {
        let state = try Self.plan(Self.threeEqual)
        var live = Self.installed(state)
        let path = ["net", "ipv4", "conf", "eth0", "rp_filter"]
        live.sysctls = live.sysctls.map { $0.path == path ? Sysctl(path, "0") : $0 }
        let record = SysctlRecord(entries: [.init(path: path, original: "1", written: "2")])
        #expect(StateDiff.changes(from: live, to: nil, record: record).sysctls.isEmpty)
    }

    @Test func theRecordKeepsTheFirstOriginalAndIsSavedBeforeTheWrite() {
        let path = ["net", "ipv4", "ip_forward"]
        let first = SysctlRecord().including([SysctlChange(path: path, value: "1", previous: "0", isRestore: false)])
        #expect(first.entries == [.init(path: path, original: "0", written: "1")])
        let again = first.updated(
            desired: [Sysctl(path, "1")],
            changes: [SysctlChange(path: path, value: "1", previous: "1", isRestore: false)])
        #expect(again.entries == [.init(path: path, original: "0", written: "1")])
        #expect(again.updated(desired: [], changes: []).entries.isEmpty)
    }

    @Test func aGatewayChangeReplacesTheRouteInPlace() throws {
        let before = try Self.plan(Self.threeEqual)
        let after = try Self.plan(Self.threeEqual.replacingOccurrences(of: "198.18.2.1", with: "198.18.2.254"))
        let changes = StateDiff.changes(from: Self.installed(before), to: after, record: SysctlRecord())
        #expect(
            changes.lines == [
                "+ ip route replace default via 198.18.2.254 dev eth1 table "
                    + "111 proto 117 realm 2 # was via 198.18.2.1 dev eth1"
            ])
    }

    @Test(
        "a foreign fwmark rule in front of ours",
        arguments: [
            ("0x100/0xffffffff", false, true),  // our bits, our value: takes our packets
            ("0x100/0xff00", false, true),
            ("0x200/0xff00", false, false),  // another value on our bits
            ("0x4000/0x4000", false, false),  // kube-proxy's masquerade bit: in our mask, but never in our marks
            ("0x200/0xff00", true, true),  // `not fwmark 0x200/0xff00` takes our 0x100
            ("0x100/0xff00", true, false)
        ])
    func foreignMarkRules(mark: String, inverted: Bool, clashes: Bool) throws {
        let parts = mark.split(separator: "/").map { UInt32($0.dropFirst(2), radix: 16)! }
        #expect(
            Preflight.catches(
                inverted: inverted, MarkedBits(value: parts[0], mask: parts[1]), MarkedBits(value: 0x100, mask: 0xff00))
                == clashes)
    }
}
