import Testing

@testable import UplinkCore

/// MPTCP's part of the plan and of the diff, without a kernel.
@Suite("MPTCP plan and diff")
struct MptcpPlanTests {
    static func address(_ text: String) -> IPAddress { IPAddress(text)! }

    static let facts = PlanFacts([
        "up1": [address("198.18.1.2")], "up2": [address("198.18.2.2")],
        "up3": [address("198.18.3.2")]
    ])

    static func plan(_ yaml: String, facts: PlanFacts = facts) throws -> DesiredState {
        Planner.plan(try ConfigParser.parse(yaml, file: "test.yaml").get(), facts: facts)
    }

    static func yaml(_ top: String = "", up3: String = "") -> String {
        """
        mptcp: true
        \(top)
        uplinks:
          - {name: up1, interface: up1, gateway: 198.18.1.1}
          - {name: up2, interface: up2, gateway: 198.18.2.1}
          - {name: up3, interface: up3, gateway: 198.18.3.1\(up3)}
        """
    }

    static func endpoint(_ n: Int, signal: Bool = false) -> MptcpEndpoint {
        MptcpEndpoint(address: address("198.18.\(n).2"), interface: "up\(n)", subflow: true, signal: signal)
    }

    @Test func anEndpointPerUplinkAddressAndLimitsOfUplinksLessOne() throws {
        let state = try Self.plan(Self.yaml())
        #expect(
            state.mptcp
                == MptcpPlan(
                    endpoints: [1, 2, 3].map { Self.endpoint($0) },
                    limits: MptcpLimits(subflows: 2, addAddrAccepted: 2)))
        #expect(state.sysctls.contains(.mptcpEnabled()))
        // Before the jump to balancing, in the host's own chain.
        let local = try #require(state.nftables.chain(named: "local-v4"))
        let capable = try #require(local.rules.firstIndex(of: NftRule([.mptcpSubtype(0)], [], .verdict(.return))))
        let balance = try #require(local.rules.firstIndex { $0.end == .verdict(.goto("balance-v4")) })
        #expect(capable < balance && local.rules.contains(NftRule([.mptcpSubtype(1)], [], .verdict(.return))))
        #expect(try Self.plan(Self.yaml().replacingOccurrences(of: "mptcp: true", with: "")).mptcp == nil)
    }

    @Test func mptcpFalseDownAnnounceAndGivenLimits() throws {
        let without = try Self.plan(Self.yaml(up3: ", mptcp: false"))
        #expect(without.mptcp?.endpoints == [Self.endpoint(1), Self.endpoint(2)])
        #expect(without.mptcp?.limits == MptcpLimits(subflows: 1, addAddrAccepted: 1))
        var down = Self.facts
        down.down = ["up2"]
        #expect(try Self.plan(Self.yaml(), facts: down).mptcp?.endpoints == [Self.endpoint(1), Self.endpoint(3)])
        #expect(try Self.plan(Self.yaml("mptcp-announce: true")).mptcp?.endpoints.allSatisfy(\.signal) == true)
        let given = try Self.plan(Self.yaml("mptcp-limits: {subflows: 5}"))
        #expect(given.mptcp?.limits == MptcpLimits(subflows: 5, addAddrAccepted: 2))
    }

    @Test func theDiffAddsDeletesAndPutsTheLimitsBack() throws {
        let state = try Self.plan(Self.yaml())
        let original = MptcpLimits(subflows: 2, addAddrAccepted: 0)
        var live = LiveState(rules: [], routes: [], nftables: nil, sysctls: [])
        live.mptcp = LiveMptcp(endpoints: [LiveMptcp.Endpoint(id: 7, endpoint: Self.endpoint(1))], limits: original)
        let changes = StateDiff.changes(from: live, to: state, record: SysctlRecord())
        #expect(changes.mptcpEndpointsToAdd == [Self.endpoint(2), Self.endpoint(3)])
        #expect(changes.mptcpEndpointsToDelete.isEmpty)
        #expect(
            changes.mptcpLimits
                == MptcpLimitsChange(
                    value: MptcpLimits(subflows: 2, addAddrAccepted: 2),
                    previous: original, isRestore: false))
        // The record: the new endpoints are ours before they exist; the original limits kept.
        let record = SysctlRecord().including(changes)
        #expect(record.mptcp?.endpoints == [Self.endpoint(2), Self.endpoint(3)])
        #expect(record.mptcp?.originalLimits == original)
        // Flushed: ours go, the limits go back while they still hold ours.
        var applied = live
        applied.mptcp = LiveMptcp(
            endpoints: [1, 2, 3].map {
                LiveMptcp.Endpoint(id: UInt8($0), endpoint: Self.endpoint($0))
            }, limits: MptcpLimits(subflows: 2, addAddrAccepted: 2))
        let flush = StateDiff.changes(from: applied, to: nil, record: record)
        #expect(flush.mptcpEndpointsToDelete.map(\.id) == [1, 2, 3])
        #expect(
            flush.mptcpLimits
                == MptcpLimitsChange(
                    value: original,
                    previous: MptcpLimits(subflows: 2, addAddrAccepted: 2),
                    isRestore: true))
        #expect(record.updated(desired: nil, changes: flush).mptcp == nil)
        #expect(flush.lines.contains("- ip mptcp endpoint delete id 2 # 198.18.2.2 dev up2 subflow"))
    }
}
