import CNetlink
import Foundation
import TestSupport
import Testing

@testable import UplinkCore
@testable import UplinkKernel

/// The netlink encoding of our rules, sets and maps, checked without root against what nft
/// itself sends for the dry-run's text (`nft --debug=netlink,mnl -f`, kept in Fixtures/nft-debug;
/// its README says how to regenerate them).
@Suite struct NftEncodingTests {
    static func plan(_ example: String) throws -> DesiredState {
        let url = Paths.examples.appendingPathComponent("\(example).yaml")
        return Planner.plan(try ConfigParser.parse(try Paths.read(url), file: url.path).get())
    }

    /// The tables the fixtures were made from, by fixture name.
    static func table(_ fixture: String) throws -> NftTable {
        switch fixture {
        case "policies": return PolicyTables.plan(balance: .nth).nftables
        case "policies-hash": return PolicyTables.plan(balance: .hash).nftables
        case "services": return ServiceTables.plan().nftables
        case "mptcp": return MptcpTable.nftables
        default: return try plan(fixture).nftables
        }
    }

    static func fixture(_ name: String) throws -> String {
        try Paths.read(Paths.fixtures.appendingPathComponent("nft-debug/\(name)"))
    }

    static let fixtures = ["lab", "policies", "policies-hash", "services", "mptcp"]

    /// The fixtures belong to the current plan: nft was given exactly this text.
    @Test(arguments: fixtures)
    func fixturesAreOfTheCurrentPlan(fixture: String) throws {
        let text = NftText.table(try Self.table(fixture))
        // UPDATE_GOLDENS=1 writes the new text; then regenerate nft's output as the README says.
        if ProcessInfo.processInfo.environment["UPDATE_GOLDENS"] == "1" {
            try text.write(
                to: Paths.fixtures.appendingPathComponent("nft-debug/\(fixture).nft"), atomically: true, encoding: .utf8
            )
        }
        #expect(text == (try Self.fixture("\(fixture).nft")))
    }

    @Test(arguments: fixtures)
    func rulesEncodeExactlyAsNftDoes(fixture: String) throws {
        let golden = try Self.fixture("\(fixture).rules.txt")
        let ours =
            try Self.table(fixture).chains.flatMap { chain in
                chain.rules.map { rule in
                    (["inet uplinkctl \(chain.name)"] + NftRuleEncoding.expressions(rule).map { "  \($0)" }).joined(
                        separator: "\n")
                }
            }.joined(separator: "\n\n") + "\n\n"
        #expect(ours == golden)
    }

    @Test(arguments: [
        "lab", "wired-wireless", "three-uplinks-nth", "three-uplinks-random", "router-lan", "weighted", "policies",
        "policies-hash",
        "services", "service-backends", "local-replicas"
    ])
    func everyRuleDecodesBackToItself(example: String) throws {
        let fixture = example.hasPrefix("policies") || example == "services"
        let table = fixture ? try Self.table(example) : try Self.plan(example).nftables
        for chain in table.chains {
            for rule in chain.rules {
                #expect(
                    NftRuleDecoding.rule(NftRuleEncoding.expressions(rule)) == rule,
                    "\(chain.name): \(NftText.rule(rule))")
            }
        }
    }

    @Test func foreignExpressionsDoNotDecode() {
        let counted: [NftExpression] = [.unrecognized("counter"), .verdict(.return)]
        #expect(NftRuleDecoding.rule(counted) == nil)
        // A mark setter whose value lies outside its mask is not ours either.
        let odd: [NftExpression] = [
            .metaLoad(.mark, register: 1), .bitwise(register: 1, mask: [0xff, 0, 0xff, 0xff], xor: [0, 0, 0, 1]),
            .metaSet(.mark, register: 1)
        ]
        #expect(NftRuleDecoding.rule(odd) == nil)
        // A concatenation loaded into other registers than nft's.
        let shifted: [NftExpression] = [
            .metaLoad(.l4proto, register: 1), .hostToNetwork(register: 1, length: 1, size: 2),
            .payloadLoad(.transport, offset: 2, length: 2, register: 10),
            .lookup(set: "m", register: 1, verdictRegister: true)
        ]
        #expect(NftRuleDecoding.rule(shifted) == nil)
        // icmpv6 types 133-136 only.
        var narrower = NftRuleEncoding.expressions(NftRule([.neighbourDiscovery], [], .verdict(.return)))
        narrower[narrower.count - 2] = .compare(.lessOrEqual, register: 1, data: [136])
        #expect(NftRuleDecoding.rule(narrower) == nil)
    }

    /// `tcp option mptcp subtype N`: nft's three expressions (also byte for byte, NftMessageBytesTests
    /// with the mptcp fixture), decoded back; other bits or another option are not this match.
    @Test func mptcpSubtypeIsNftsBitField() throws {
        let rule = NftRule([.mptcpSubtype(1)], [], .verdict(.return))
        #expect(NftText.rule(rule) == "tcp option mptcp subtype 1 return")
        #expect(NftText.rule(NftRule([.mptcpSubtype(0)], [], .verdict(.return))) == "tcp option mptcp subtype 0 return")
        let expressions = NftRuleEncoding.expressions(rule)
        #expect(
            expressions.map(\.description) == [
                "[ exthdr load tcpopt 1b @ 30 + 2 => reg 1 ]",
                "[ bitwise reg 1 = ( reg 1 & 0x000000f0 ) ^ 0x00000000 ]",
                "[ cmp eq reg 1 0x00000010 ]",
                "[ immediate reg 0 return ]"
            ])
        for subtype in UInt8(0)...15 {
            let rule = NftRule([.connectionNotNew, .mptcpSubtype(subtype)], [], .verdict(.return))
            #expect(NftRuleDecoding.rule(NftRuleEncoding.expressions(rule)) == rule)
        }
        var lowBits = expressions
        lowBits[2] = .compare(.equal, register: 1, data: [0x11])
        #expect(NftRuleDecoding.rule(lowBits) == nil)
        var otherOption = expressions
        otherOption[0] = .tcpOptionLoad(kind: 2, offset: 2, length: 1, register: 1)
        #expect(NftRuleDecoding.rule(otherOption) == nil)
        var otherMask = expressions
        otherMask[1] = .bitwise(register: 1, mask: [0xff], xor: [0])
        #expect(NftRuleDecoding.rule(otherMask) == nil)
    }

    /// The exthdr expression through libnftnl and back; the mask before the subtype's comparison
    /// says its operation, as nft does, a flag test's does not.
    @Test func tcpOptionLoadRoundTripsThroughLibnftnl() {
        let load = NftExpression.tcpOptionLoad(kind: 30, offset: 2, length: 1, register: 1)
        let made = NftExpressionNetlink.make(load)
        defer { nftnl_expr_free(made) }
        #expect(NftExpressionNetlink.read(made) == load)
        #expect(NftExpressionNetlink.saysOperation(before: .compare(.equal, register: 1, data: [0x10])))
        #expect(!NftExpressionNetlink.saysOperation(before: .compare(.notEqual, register: 1, data: [0, 0, 0, 0])))
    }

    /// iptables has no match on the subtype: the rule is left out, and a comment says so.
    @Test func mptcpSubtypeIsNotTranslatedToIptables() {
        let lines = IptablesTranslation(MptcpTable.nftables).lines()
        let append = ["-A", IptablesTranslation.chainName("mptcp")]
        #expect(
            !lines.contains { line in
                if case .command(let command) = line { command.dropFirst(3).starts(with: append) } else { false }
            })
        #expect(
            lines.contains(
                .comment([
                    "Not expressible in iptables: tcp option mptcp subtype 1 (MPTCP MP_JOIN).",
                    "- Left out: `tcp option mptcp subtype 1 return`; such "
                        + "packets go on through the chain like any other."
                ])))
    }

    /// The boundaries nft wrote for `{ 127.0.0.0/8, 169.254.0.0/16, 224.0.0.0/4, 255.255.255.255 }`:
    /// a leading end at 0.0.0.0, start and end+1 per range, the last range open.
    @Test func intervalSetsUseNftsBoundaries() throws {
        let set = try Self.plan("lab").nftables.set(named: NftPlanner.neverBalancedSet(.ipv4))!
        let elements = NftSetEncoding.elements(set)
        let described = elements.map {
            "\($0.key.map(String.init).joined(separator: "."))\($0.intervalEnd ? " end" : "")"
        }
        #expect(
            described == [
                "0.0.0.0 end", "127.0.0.0", "128.0.0.0 end", "169.254.0.0", "169.255.0.0 end",
                "224.0.0.0", "240.0.0.0 end", "255.255.255.255"
            ])
        #expect(elements.last?.userdata == [1, 4, 1, 0, 0, 0])
        #expect(NftSetEncoding.set(NftSetEncoding.definition(set), elements: elements.reversed()) == set)
    }

    /// What each map is looked up by, from the rules of the table (as the reader finds it).
    static func keys(_ table: NftTable) -> [String: NftMapKey] {
        var keys: [String: NftMapKey] = [:]
        for rule in table.chains.flatMap(\.rules) {
            if case .lookup(let key, _, let map)? = rule.end { keys[map] = key }
        }
        return keys
    }

    @Test(arguments: fixtures)
    func mapsRoundTripWithTheKeyTheirRuleLooksUp(fixture: String) throws {
        let table = try Self.table(fixture)
        let keys = Self.keys(table)
        for map in table.maps {
            let definition = NftMapEncoding.definition(map)
            let elements = NftMapEncoding.elements(map)
            let key = keys[map.name]
            #expect(NftMapEncoding.map(definition, elements: elements, lookedUpBy: key) == map, "\(map.name)")
            // The kernel lists elements in its own order.
            let listed = NftMapEncoding.map(definition, elements: elements.reversed(), lookedUpBy: key)
            #expect(listed == map, "\(map.name)")
        }
    }

    /// The kernel keeps datatypes, not fields: without the rule that looks it up, a map keyed by
    /// `ip saddr` cannot be told from one keyed by `ip daddr`, and a jhash map has no family or seed.
    @Test func mapsKeyedByFieldsOrHashesNeedTheirRule() throws {
        let table = PolicyTables.plan(balance: .hash).nftables
        for name in ["policy-v4-1", "policy-v4-4", "slots-v4", "slots-v6"] {
            let map = try #require(table.map(named: name))
            let definition = NftMapEncoding.definition(map)
            #expect(NftMapEncoding.map(definition, elements: NftMapEncoding.elements(map)) == nil, "\(name)")
        }
        // Looked up by a key of other datatypes: not the map we would write for it.
        let destinations = try #require(table.map(named: "policy-v4-1"))
        let definition = NftMapEncoding.definition(destinations)
        #expect(
            NftMapEncoding.map(
                definition, elements: NftMapEncoding.elements(destinations),
                lookedUpBy: .fields([.destination(.ipv6)])) == nil)
    }

    /// Elements the model cannot describe make the whole map unreadable (diff replaces it).
    @Test func elementsWithoutAModelFormAreRefused() throws {
        let table = PolicyTables.plan().nftables
        let keys = Self.keys(table)
        func decodes(_ name: String, _ edit: (inout [NftSetElement]) -> Void) throws -> Bool {
            let map = try #require(table.map(named: name))
            var elements = NftMapEncoding.elements(map)
            edit(&elements)
            return NftMapEncoding.map(NftMapEncoding.definition(map), elements: elements, lookedUpBy: keys[name]) != nil
        }
        #expect(try decodes("policy-v4-4") { _ in })
        // 198.18.70.0-198.18.71.127: a range, not one prefix.
        #expect(try !decodes("policy-v4-4") { $0[0].keyEnd![1...3] = [18, 71, 127] })
        // Non-zero padding after the protocol byte.
        #expect(
            try !decodes("policy-v4-4") {
                $0[0].key[5] = 1
                $0[0].keyEnd![5] = 1
            })
        // A protocol range.
        #expect(try !decodes("policy-v4-4") { $0[0].keyEnd![4] = 17 })
        // Ports backwards.
        #expect(
            try !decodes("policy-v4-2") {
                $0[0].key[4...5] = [0x10, 0]
                $0[0].keyEnd![4...5] = [0, 0x10]
            })
        // An address range that is not a prefix, in a single-field interval map.
        #expect(try decodes("policy-v4-7") { _ in })
        #expect(try !decodes("policy-v4-7") { $0[2].key = [198, 18, 62, 5] })
        // A start without its end.
        #expect(try !decodes("policy-v4-7") { $0.remove(at: 4) })
        // An interface name with bytes after its end.
        #expect(try !decodes("inbound") { $0[0].key[15] = 1 })
    }

    /// nft's map elements, byte for byte (the same bytes as Fixtures/nft-debug/policies.messages.txt,
    /// here readable): interval start and end+1 for a single address field, key and inclusive key
    /// end for a concatenation, each field padded to 4 bytes.
    @Test func mapElementsAreNftsBytes() throws {
        let table = PolicyTables.plan().nftables
        func described(_ name: String) throws -> [String] {
            NftMapEncoding.elements(try #require(table.map(named: name))).map { element in
                var text = element.key.map { String($0, radix: 16).leftPadded(to: 2) }.joined(separator: " ")
                if let end = element.keyEnd {
                    text += " - " + end.map { String($0, radix: 16).leftPadded(to: 2) }.joined(separator: " ")
                }
                if element.intervalEnd { text += " end" }
                return text
            }
        }
        #expect(
            try described("policy-v4-7") == [
                "00 00 00 00 end", "c6 12 3c 00", "c6 12 3e 00 end", "c6 12 3e 00", "c6 12 3f 00 end"
            ])
        #expect(try described("policy-v4-2").first == "06 00 00 00 00 15 00 00 - 06 00 00 00 00 16 00 00")
        #expect(
            try described("policy-v4-4").last
                == "c6 12 46 00 06 00 00 00 1f 40 00 00 - c6 12 46 ff 06 00 00 00 1f 90 00 00")
        #expect(try described("policy-v4-11") == ["6c 61 6e 34 00 00 00 00 00 00 00 00 00 00 00 00 11 00 00 00"])
        let definition = NftMapEncoding.definition(try #require(table.map(named: "policy-v4-10")))
        #expect(
            definition.flags == 0x8c && definition.keyType == 0x471c_c34d && definition.keyLength == 36
                && definition.fieldLengths == [16, 4, 4, 1, 2, 2])
    }

    @Test func prefixesJoinAndSplitIntoTheFewest() {
        let set = NftSet(
            name: "s", type: .ipv4Prefixes,
            elements: ["10.0.0.0/9", "10.128.0.0/9", "10.1.0.0/16", "192.0.2.1", "192.0.2.2/31"]
                .map { .prefix(IPPrefix($0)!) })
        #expect(set.elements.map { "\($0)" } == ["prefix(10.0.0.0/8)", "prefix(192.0.2.1)", "prefix(192.0.2.2/31)"])
        let range = AddressRange(first: [198, 18, 0, 1], last: [198, 18, 0, 6])
        #expect(range.prefixes.map(\.description) == ["198.18.0.1", "198.18.0.2/31", "198.18.0.4/31", "198.18.0.6"])
    }
}
