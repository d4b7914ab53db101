import Testing

@testable import UplinkCore

/// The plan with uplinks out of the rotation, as values: no kernel.
@Suite struct HealthPlanTests {
    static func plan(_ yaml: String, down: Set<String>) throws -> DesiredState {
        Planner.plan(try ConfigParser.parse(yaml, file: "test.yaml").get(), facts: PlanFacts(down: down))
    }

    static func three(balance: String = "nth", weights: [Int] = [1, 1, 1], policies: String = "") -> String {
        "balance: \(balance)\nuplinks:\n"
            + zip(["a", "b", "c"], weights).enumerated().map { index, pair in
                "  - {name: \(pair.0), interface: eth\(index), gateway: 198.18.\(index + 1).1, weight: \(pair.1)}"
            }.joined(separator: "\n") + "\n" + policies
    }

    static func slots(_ state: DesiredState, _ map: String = "slots-v4") -> String {
        NftText.mapElements(state.nftables.map(named: map)!)
    }

    @Test func aDeadUplinksSlotsGoToTheOthersAndTheMapKeepsItsSize() throws {
        #expect(Self.slots(try Self.plan(Self.three(), down: [])) == "0 : goto new-a, 1 : goto new-b, 2 : goto new-c")
        #expect(
            Self.slots(try Self.plan(Self.three(), down: ["b"])) == "0 : goto new-a, 1 : goto new-a, 2 : goto new-c")
        // 3:2:1 is a b a b a c; with a dead, its three slots go to b and c by weight 2:1: b c b.
        let weighted = try Self.plan(Self.three(weights: [3, 2, 1]), down: ["a"])
        #expect(
            Self.slots(weighted)
                == "0 : goto new-b, 1 : goto new-b, 2 : goto new-c, 3 : goto new-b, 4 : goto new-b, 5 : goto new-c")
        // hash: the same map, so only the dead uplink's address pairs move.
        let hash = try Self.plan(Self.three(balance: "hash"), down: ["c"])
        #expect(Self.slots(hash) == "0 : goto new-a, 1 : goto new-b, 2 : goto new-a")
    }

    @Test func everyUplinkDownChangesNothing() throws {
        let all = try Self.plan(Self.three(), down: ["a", "b", "c"])
        #expect(all == (try Self.plan(Self.three(), down: [])))
    }

    @Test func aPinnedEntryFollowsItsFallback() throws {
        let policies = """
            policies:
              - {destination: 198.19.1.0/24, uplink: b}
              - {destination: 198.19.2.0/24, uplink: b, fallback: c}
              - {destination: 198.19.3.0/24, uplink: b, fallback: none}
              - {destination: 198.19.4.0/24, balance: {b: 1, c: 1}}

            """
        let healthy = try Self.plan(Self.three(policies: policies), down: [])
        #expect(Self.slots(healthy, "policy-v4-1").components(separatedBy: ", ").count == 4)
        let state = try Self.plan(Self.three(policies: policies), down: ["b"])
        #expect(
            Self.slots(state, "policy-v4-1") == "198.19.1.0/24 : goto pick-v4-1, 198.19.2.0/24 : goto new-c, "
                + "198.19.3.0/24 : goto new-b, 198.19.4.0/24 : goto pick-v4-4")
        #expect(Self.slots(state, "pick-v4-1") == "0 : goto new-a, 1 : goto new-a, 2 : goto new-c")
        #expect(Self.slots(state, "pick-v4-4") == "0 : goto new-c, 1 : goto new-c")
        // Both of a subset down: the fallback, by default over every live uplink.
        let both = try Self.plan(Self.three(policies: policies), down: ["b", "c"])
        #expect(Self.slots(both, "pick-v4-4") == "0 : goto new-a, 1 : goto new-a, 2 : goto new-a")
        #expect(Self.slots(both, "policy-v4-1").contains("198.19.2.0/24 : goto pick-v4-2"))
    }

    @Test func ecmpLeavesADeadNextHopOut() throws {
        let state = try Self.plan(Self.three(balance: "ecmp"), down: ["a"])
        let multipath = try #require(state.routes.first { $0.isMultipath })
        #expect(multipath.nexthops.map(\.device) == ["eth1", "eth2"])
    }
}
