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
                Transcript.nftLine(type: $0.type, payload: Self.payload($0))
            }
        }
        #expect(ours.count == golden.count)
        for (index, pair) in zip(ours, golden).enumerated() where pair.0 != pair.1 {
            Issue.record("message \(index + 1):\n ours \(pair.0)\n nft  \(pair.1)")
        }
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

}
