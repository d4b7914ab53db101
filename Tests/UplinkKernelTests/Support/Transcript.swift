import CNetlink

@testable import UplinkKernel

/// What the edge sent, as text a person can read and a golden can hold.
enum Transcript {
    /// Each change: its object, then each message: its kind and flags, and its payload as hex
    /// (a batch's nf_tables messages by kind and name only: their bytes are nft's, see `nftLine`).
    static func changes(_ records: [FakeKernel.Record]) -> String {
        records.filter { $0.kind == .change }.map { record in
            ([record.object] + record.messages.map { "  " + describe($0) }).joined(separator: "\n") + "\n"
        }.joined()
    }

    private static func describe(_ message: FakeMessage) -> String {
        let flags: [(Int32, String)] = [
            (NLM_F_REQUEST, "request"), (NLM_F_ACK, "ack"), (NLM_F_REPLACE, "replace"),
            (NLM_F_EXCL, "excl"), (NLM_F_CREATE, "create"), (NLM_F_APPEND, "append")
        ]
        let named = flags.filter { message.has($0.0) }.map(\.1).joined(separator: ",")
        if message.type >> 8 == UInt16(NFNL_SUBSYS_NFTABLES) {
            return nftLine(message).split(separator: " ").prefix(2).joined(separator: " ") + " " + named
        }
        let types: [Int: String] = [
            RTM_NEWROUTE: "RTM_NEWROUTE", RTM_DELROUTE: "RTM_DELROUTE",
            RTM_NEWRULE: "RTM_NEWRULE", RTM_DELRULE: "RTM_DELRULE",
            Int(NFNL_MSG_BATCH_BEGIN): "batch begin", Int(NFNL_MSG_BATCH_END): "batch end"
        ]
        return "\(types[Int(message.type)] ?? "type \(message.type)") \(named): \(hex(message.payload))"
    }

    /// An nf_tables message as Tests/UplinkCoreTests/Fixtures/nft-debug/*.messages.txt give
    /// nft's: kind, the object it names, its attributes as hex without the per-transaction set
    /// IDs (NFTA_SET_ID, NFTA_SET_ELEM_LIST_SET_ID).
    static func nftLine(_ message: FakeMessage) -> String {
        nftLine(type: UInt32(message.type & 0xff), payload: Array(message.bytes.dropFirst(16 + FakeNftables.header)))
    }

    /// The same, for a message of `type` whose attributes are `payload`.
    static func nftLine(type: UInt32, payload: [UInt8]) -> String {
        // Kind, and the attribute that names the object (a rule: its chain).
        let kinds: [UInt32: (String, UInt32)] = [
            NFT_MSG_NEWTABLE.rawValue: ("table", NFTA_TABLE_NAME.rawValue),
            NFT_MSG_DELTABLE.rawValue: ("delete-table", NFTA_TABLE_NAME.rawValue),
            NFT_MSG_NEWCHAIN.rawValue: ("chain", NFTA_CHAIN_NAME.rawValue),
            NFT_MSG_DELCHAIN.rawValue: ("delete-chain", NFTA_CHAIN_NAME.rawValue),
            NFT_MSG_NEWOBJ.rawValue: ("counter", NFTA_OBJ_NAME.rawValue),
            NFT_MSG_DELOBJ.rawValue: ("delete-counter", NFTA_OBJ_NAME.rawValue),
            NFT_MSG_NEWSET.rawValue: ("set", NFTA_SET_NAME.rawValue),
            NFT_MSG_DELSET.rawValue: ("delete-set", NFTA_SET_NAME.rawValue),
            NFT_MSG_NEWSETELEM.rawValue: ("elements", NFTA_SET_ELEM_LIST_SET.rawValue),
            NFT_MSG_DELSETELEM.rawValue: ("delete-elements", NFTA_SET_ELEM_LIST_SET.rawValue),
            NFT_MSG_NEWRULE.rawValue: ("rule", NFTA_RULE_CHAIN.rawValue),
            NFT_MSG_DELRULE.rawValue: ("delete-rule", NFTA_RULE_CHAIN.rawValue)
        ]
        guard let (kind, nameType) = kinds[type] else { return "nft-\(type) \(hex(payload))" }
        var attributes = FakeMessage.unpack(payload)
        let setID: UInt32? =
            type == NFT_MSG_NEWSET.rawValue
            ? NFTA_SET_ID.rawValue
            : type == NFT_MSG_NEWSETELEM.rawValue ? NFTA_SET_ELEM_LIST_SET_ID.rawValue : nil
        if let setID { attributes.removeAll { $0.type & 0x3fff == UInt16(setID) } }
        let name =
            attributes.first { $0.type & 0x3fff == UInt16(nameType) }
            .map { String(decoding: $0.data.prefix { $0 != 0 }, as: UTF8.self) } ?? "?"
        return "\(kind) \(name) \(hex(FakeMessage.pack(attributes)))"
    }

    static func hex<Bytes: Sequence<UInt8>>(_ bytes: Bytes) -> String {
        bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }
}
