import CNetlink
import Testing

@testable import UplinkCore
@testable import UplinkKernel

/// The batch apply sends for a new table, message by message and in its order, byte for byte
/// what nft sends for the same text (Fixtures/nft-debug/*.messages.txt: the table, its chains,
/// counters, set and map definitions with their userdata and concatenation description, element
/// lists, rules), set IDs aside.
@Suite struct NftMessageBytesTests {
    @Test(arguments: NftEncodingTests.fixtures)
    func messagesAreNftsBytes(fixture: String) throws {
        let table = try NftEncodingTests.table(fixture)
        let golden = try NftEncodingTests.fixture("\(fixture).messages.txt").split(separator: "\n").map(String.init)
        let messages = NftMessages(table: Ownership.nftTableName)
        let ours = NftDiff.creation(of: table).enumerated().flatMap { index, change in
            messages.messages(change, setID: UInt32(index + 1)).map {
                Self.line(type: $0.type, payload: Self.payload($0))
            }
        }
        #expect(ours.count == golden.count)
        for (index, pair) in zip(ours, golden).enumerated() where pair.0 != pair.1 {
            Issue.record("message \(index + 1):\n ours \(pair.0)\n nft  \(pair.1)")
        }
    }

    /// A message as the fixtures give it: its kind, the object it names, its attributes as hex
    /// without the per-transaction set IDs (NFTA_SET_ID, NFTA_SET_ELEM_LIST_SET_ID).
    static func line(type: UInt32, payload: [UInt8]) -> String {
        // Kind, and the attribute that names the object (a rule: its chain).
        let kinds: [UInt32: (String, UInt16)] = [
            NFT_MSG_NEWTABLE.rawValue: ("table", 1), NFT_MSG_NEWCHAIN.rawValue: ("chain", 3),
            NFT_MSG_NEWOBJ.rawValue: ("counter", 2), NFT_MSG_NEWSET.rawValue: ("set", 2),
            NFT_MSG_NEWSETELEM.rawValue: ("elements", 2), NFT_MSG_NEWRULE.rawValue: ("rule", 2)
        ]
        guard let (kind, nameType) = kinds[type] else { return "message \(type) \(hex(payload))" }
        var attributes = Self.attributes(payload)
        if kind == "set" { attributes.removeAll { $0.type & 0x3fff == 10 } }
        if kind == "elements" { attributes.removeAll { $0.type & 0x3fff == 4 } }
        let name =
            attributes.first { $0.type & 0x3fff == nameType }
            .map { String(decoding: $0.data.prefix { $0 != 0 }, as: UTF8.self) } ?? "?"
        return "\(kind) \(name) \(hex(attributes.flatMap(encoded)))"
    }

    /// The set declared `typeof fib daddr . mark oifname` and the rule's fib expression describe
    /// one lookup: nft's userdata (core) and libnftnl's attributes (kernel edge) must agree.
    @Test func theRouteSetsTypeofIsTheRulesLookup() {
        #expect(NftUserdata.fibDestinationAndMark == NftExpressionNetlink.routeLookupFlags)
        #expect(NftUserdata.fibInterfaceNameResult == UInt32(NFT_FIB_RESULT_OIFNAME.rawValue))
    }

    /// A message's attributes, after the netlink and nfgenmsg headers.
    static func payload(_ message: NftMessages.Message) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: message.capacity)
        return buffer.withUnsafeMutableBytes { raw in
            let header = nftnl_nlmsg_build_hdr(
                raw.baseAddress!.assumingMemoryBound(to: CChar.self), UInt16(message.type), UInt16(NFPROTO_INET), 0, 1)!
            message.build(header)
            return Array(UnsafeRawBufferPointer(start: header, count: Int(header.pointee.nlmsg_len)).dropFirst(20))
        }
    }

    static func attributes(_ bytes: [UInt8]) -> [(type: UInt16, data: [UInt8])] {
        var result: [(UInt16, [UInt8])] = []
        var index = 0
        while index + 4 <= bytes.count {
            let length = Int(bytes[index]) | Int(bytes[index + 1]) << 8
            let type = UInt16(bytes[index + 2]) | UInt16(bytes[index + 3]) << 8
            result.append((type, Array(bytes[(index + 4)..<(index + length)])))
            index += (length + 3) & ~3
        }
        return result
    }

    static func encoded(_ attribute: (type: UInt16, data: [UInt8])) -> [UInt8] {
        let length = attribute.data.count + 4
        return [UInt8(length & 0xff), UInt8(length >> 8), UInt8(attribute.type & 0xff), UInt8(attribute.type >> 8)]
            + attribute.data + [UInt8](repeating: 0, count: (4 - attribute.data.count % 4) % 4)
    }

    static func hex(_ bytes: [UInt8]) -> String { bytes.map { String($0, radix: 16).leftPadded(to: 2) }.joined() }
}
