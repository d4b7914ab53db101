import Testing
import UplinkCore

/// `PolicyCoverage`: which families an entry can match in, and when an earlier entry catches all of it.
@Suite("Policy coverage")
struct PolicyCoverageTests {
    private func prefixes(_ texts: String...) -> [IPPrefix] { texts.map { IPPrefix($0)! } }

    // MARK: Families

    @Test func anEntryWithoutAddressesMatchesBothFamilies() {
        #expect(PolicyCoverage.families(PolicyMatch()) == [.ipv4, .ipv6])
        #expect(
            PolicyCoverage.families(PolicyMatch(protocols: [6], destinationPorts: [PortRange(443)])) == [.ipv4, .ipv6])
    }

    @Test func addressesLimitTheFamilies() {
        #expect(PolicyCoverage.families(PolicyMatch(destinations: prefixes("198.18.0.0/15"))) == [.ipv4])
        #expect(PolicyCoverage.families(PolicyMatch(sources: prefixes("2001:2::/48"))) == [.ipv6])
        #expect(
            PolicyCoverage.families(PolicyMatch(destinations: prefixes("198.18.0.0/15", "2001:2::/48"))) == [
                .ipv4, .ipv6
            ])
        // Both lists must have the family: an IPv4 source and an IPv6 destination never meet.
        #expect(
            PolicyCoverage.families(
                PolicyMatch(destinations: prefixes("2001:2::/48"), sources: prefixes("198.18.0.0/15"))) == [])
    }

    @Test func icmpAndIcmpv6BelongToOneFamilyEach() {
        #expect(PolicyCoverage.families(PolicyMatch(protocols: [IPProtocolNumber.icmp])) == [.ipv4])
        #expect(PolicyCoverage.families(PolicyMatch(protocols: [IPProtocolNumber.icmpv6])) == [.ipv6])
        #expect(
            PolicyCoverage.families(
                PolicyMatch(destinations: prefixes("2001:2::/48"), protocols: [IPProtocolNumber.icmp])) == [])
        #expect(
            PolicyCoverage.families(PolicyMatch(destinations: prefixes("2001:2::/48"), protocols: [1, 6])) == [.ipv6])
    }

    // MARK: Covering, field by field

    @Test func anEmptyEarlierEntryCoversEverything() {
        let later = PolicyMatch(
            destinations: prefixes("198.18.5.0/24"), protocols: [17], destinationPorts: [PortRange(53)],
            inputInterfaces: ["lan0"])
        #expect(PolicyCoverage.covers(PolicyMatch(), later, in: .ipv4))
        #expect(!PolicyCoverage.covers(PolicyMatch(), later, in: .ipv6), "the later entry cannot match IPv6 at all")
    }

    @Test func aFieldTheEarlierEntryGivesMustBeGivenByTheLaterOne() {
        let earlier = PolicyMatch(protocols: [6])
        #expect(!PolicyCoverage.covers(earlier, PolicyMatch(), in: .ipv4))
        #expect(
            PolicyCoverage.covers(earlier, PolicyMatch(protocols: [6], destinationPorts: [PortRange(80)]), in: .ipv4))
        #expect(!PolicyCoverage.covers(earlier, PolicyMatch(protocols: [6, 17]), in: .ipv4))
    }

    @Test func prefixesAreContainedAndAdjacentOnesJoin() {
        let earlier = PolicyMatch(destinations: prefixes("198.18.0.0/25", "198.18.0.128/25", "2001:2::/48"))
        #expect(PolicyCoverage.covers(earlier, PolicyMatch(destinations: prefixes("198.18.0.0/24")), in: .ipv4))
        #expect(PolicyCoverage.covers(earlier, PolicyMatch(destinations: prefixes("198.18.0.77")), in: .ipv4))
        #expect(!PolicyCoverage.covers(earlier, PolicyMatch(destinations: prefixes("198.18.0.0/23")), in: .ipv4))
        #expect(PolicyCoverage.covers(earlier, PolicyMatch(destinations: prefixes("2001:2:0:5::/64")), in: .ipv6))
        #expect(!PolicyCoverage.covers(earlier, PolicyMatch(destinations: prefixes("2001:3::/48")), in: .ipv6))
        // Sources are a field of their own.
        #expect(!PolicyCoverage.covers(earlier, PolicyMatch(sources: prefixes("198.18.0.0/24")), in: .ipv4))
    }

    @Test func portRangesAreContainedAndAdjacentOnesJoin() {
        let earlier = PolicyMatch(
            protocols: [6, 17], destinationPorts: [PortRange(80, 90), PortRange(91, 100), PortRange(443)])
        #expect(
            PolicyCoverage.covers(
                earlier, PolicyMatch(protocols: [6], destinationPorts: [PortRange(85, 95), PortRange(443)]), in: .ipv4))
        #expect(
            !PolicyCoverage.covers(
                earlier, PolicyMatch(protocols: [6], destinationPorts: [PortRange(95, 101)]), in: .ipv4))
        #expect(!PolicyCoverage.covers(earlier, PolicyMatch(protocols: [6], sourcePorts: [PortRange(85)]), in: .ipv4))
        #expect(!PolicyCoverage.covers(earlier, PolicyMatch(protocols: [6]), in: .ipv4))
    }

    @Test func interfacesMustBeEqual() {
        let earlier = PolicyMatch(inputInterfaces: ["lan0", "lan1"])
        #expect(PolicyCoverage.covers(earlier, PolicyMatch(inputInterfaces: ["lan1"]), in: .ipv4))
        #expect(!PolicyCoverage.covers(earlier, PolicyMatch(inputInterfaces: ["lan1", "lan2"]), in: .ipv4))
        #expect(!PolicyCoverage.covers(earlier, PolicyMatch(), in: .ipv4))
    }

    @Test func protocolsAreComparedWithinTheFamily() {
        // In IPv6, [icmp, tcp] is [tcp]; in IPv4, [icmpv6, tcp] is [tcp].
        let earlier = PolicyMatch(protocols: [6])
        let later = PolicyMatch(protocols: [IPProtocolNumber.icmp, 6])
        #expect(PolicyCoverage.covers(earlier, later, in: .ipv6))
        #expect(!PolicyCoverage.covers(earlier, later, in: .ipv4))
        #expect(
            !PolicyCoverage.covers(
                PolicyMatch(protocols: [IPProtocolNumber.icmp]), PolicyMatch(protocols: [IPProtocolNumber.icmp]),
                in: .ipv6))
    }

    // MARK: Shadowing, family by family

    @Test func shadowedOnlyWhenEveryFamilyItMatchesIsCovered() {
        let v4 = PolicyMatch(destinations: prefixes("198.18.0.0/15"))
        let v6 = PolicyMatch(destinations: prefixes("2001:2::/48"))
        let later = PolicyMatch(destinations: prefixes("198.18.5.0/24", "2001:2:0:5::/64"))
        #expect(PolicyCoverage.shadowing([v4] + [later]).last! == nil)
        #expect(PolicyCoverage.shadowing([v6] + [later]).last! == nil)
        #expect(PolicyCoverage.shadowing([v4, v6] + [later]).last! == [.ipv4: 0, .ipv6: 1])
        #expect(
            PolicyCoverage.shadowing([PolicyMatch(protocols: [17]), PolicyMatch(), later]).last! == [.ipv4: 1, .ipv6: 1]
        )
    }

    @Test func theFirstCoveringEntryIsNamed() {
        let later = PolicyMatch(protocols: [17], destinationPorts: [PortRange(53)])
        let earlier = [PolicyMatch(protocols: [6]), PolicyMatch(protocols: [17]), PolicyMatch()]
        #expect(PolicyCoverage.shadowing(earlier + [later]).last! == [.ipv4: 1, .ipv6: 1])
    }

    @Test func anEntryThatCannotMatchIsNotShadowed() {
        let never = PolicyMatch(destinations: prefixes("2001:2::/48"), protocols: [IPProtocolNumber.icmp])
        #expect(PolicyCoverage.shadowing([PolicyMatch()] + [never]).last! == nil)
        #expect(PolicyCoverage.shadowing([PolicyMatch()]).last! == nil)
    }

    @Test func togetherTwoEarlierEntriesAreNotEnough() {
        // One entry at a time, by design: two halves of a range do not shadow the whole.
        let later = PolicyMatch(protocols: [6, 17])
        #expect(
            PolicyCoverage.shadowing([PolicyMatch(protocols: [6]), PolicyMatch(protocols: [17]), later]).last! == nil)
    }
}
