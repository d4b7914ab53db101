import Foundation
import Testing
@testable import UplinkCore

/// The netlink encoding of our rules and sets, checked without root against what nft itself
/// sends for the dry-run's text (`nft --debug=netlink -f`, kept in Fixtures/nft-debug).
@Suite struct NftEncodingTests {
    static func plan(_ example: String) throws -> DesiredState {
        let url = Paths.examples.appendingPathComponent("\(example).yaml")
        return Planner.plan(try ConfigParser.parse(try Paths.read(url), file: url.path).get())
    }

    @Test func rulesEncodeExactlyAsNftDoes() throws {
        let golden = try Paths.read(Paths.fixtures.appendingPathComponent("nft-debug/lab.rules.txt"))
        let table = try Self.plan("lab").nftables
        let ours = table.chains.flatMap { chain in
            chain.rules.map { rule in
                (["inet uplinkctl \(chain.name)"] + NftRuleEncoding.expressions(rule).map { "  \($0)" }).joined(separator: "\n")
            }
        }.joined(separator: "\n\n") + "\n\n"
        #expect(ours == golden)
    }

    @Test(arguments: ["lab", "wired-wireless", "three-uplinks-nth", "three-uplinks-random", "router-lan", "weighted"])
    func everyRuleDecodesBackToItself(example: String) throws {
        for chain in try Self.plan(example).nftables.chains {
            for rule in chain.rules {
                #expect(NftRuleDecoding.rule(NftRuleEncoding.expressions(rule)) == rule, "\(chain.name): \(NftText.rule(rule))")
            }
        }
    }

    @Test func foreignExpressionsDoNotDecode() {
        let counted: [NftExpression] = [.unrecognized("counter"), .verdict(.return)]
        #expect(NftRuleDecoding.rule(counted) == nil)
        // A mark setter whose value lies outside its mask is not ours either.
        let odd: [NftExpression] = [.metaLoad(.mark, register: 1), .bitwise(register: 1, mask: [0xff, 0, 0xff, 0xff], xor: [0, 0, 0, 1]), .metaSet(.mark, register: 1)]
        #expect(NftRuleDecoding.rule(odd) == nil)
    }

    /// The boundaries nft wrote for `{ 127.0.0.0/8, 169.254.0.0/16, 224.0.0.0/4, 255.255.255.255 }`:
    /// a leading end at 0.0.0.0, start and end+1 per range, the last range open.
    @Test func intervalSetsUseNftsBoundaries() throws {
        let set = try Self.plan("lab").nftables.set(named: NftPlanner.neverBalancedSet(.ipv4))!
        let elements = NftSetEncoding.elements(set)
        let described = elements.map { "\($0.key.map(String.init).joined(separator: "."))\($0.intervalEnd ? " end" : "")" }
        #expect(described == ["0.0.0.0 end", "127.0.0.0", "128.0.0.0 end", "169.254.0.0", "169.255.0.0 end",
                              "224.0.0.0", "240.0.0.0 end", "255.255.255.255"])
        #expect(elements.last?.userdata == [1, 4, 1, 0, 0, 0])
        #expect(NftSetEncoding.set(NftSetEncoding.definition(set), elements: elements.reversed()) == set)
    }

    @Test func mapsRoundTripWithTheirTypeof() throws {
        for map in try Self.plan("lab").nftables.maps {
            let definition = NftSetEncoding.definition(map)
            #expect(NftSetEncoding.map(definition, elements: NftSetEncoding.elements(map)) == map)
        }
    }

    @Test func prefixesJoinAndSplitIntoTheFewest() {
        let set = NftSet(name: "s", type: .ipv4Prefixes, elements: ["10.0.0.0/9", "10.128.0.0/9", "10.1.0.0/16", "192.0.2.1", "192.0.2.2/31"]
            .map { .prefix(IPPrefix($0)!) })
        #expect(set.elements.map { "\($0)" } == ["prefix(10.0.0.0/8)", "prefix(192.0.2.1)", "prefix(192.0.2.2/31)"])
        let range = AddressRange(first: [198, 18, 0, 1], last: [198, 18, 0, 6])
        #expect(range.prefixes.map(\.description) == ["198.18.0.1", "198.18.0.2/31", "198.18.0.4/31", "198.18.0.6"])
    }
}
