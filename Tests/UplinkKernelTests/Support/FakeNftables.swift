import CNetlink
import Glibc

@testable import UplinkKernel

/// nf_tables as the fake kernel answers it: one table, kept as the messages that built it (a
/// dump lists them back, rules with the handle the kernel gave them), changed only by whole
/// batches, all of whose messages take effect or none.
struct FakeNftables: Equatable {
    var table: FakeMessage?
    var chains: [FakeMessage] = []
    var counters: [FakeMessage] = []
    var sets: [FakeMessage] = []
    var elements: [String: [FakeMessage]] = [:]
    var rules: [Rule] = []

    /// A rule and the handle the kernel gave it (handles aside, a table rebuilt is the same).
    struct Rule: Equatable {
        let message: FakeMessage
        let handle: UInt64

        static func == (a: Rule, b: Rule) -> Bool { a.message == b.message }

        /// As a dump lists it: with its handle.
        var listed: FakeMessage {
            let handle = withUnsafeBytes(of: handle.bigEndian, Array.init)
            let attributes =
                message.rawAttributes(after: FakeNftables.header)
                + [(UInt16(NFTA_RULE_HANDLE.rawValue), handle)]
            return message.with(attributes, after: FakeNftables.header)
        }
    }

    static let header = MemoryLayout<nfgenmsg>.size

    static func type(_ message: nf_tables_msg_types) -> UInt16 {
        UInt16(NFNL_SUBSYS_NFTABLES << 8) | UInt16(message.rawValue)
    }

    static func isRead(_ message: FakeMessage) -> Bool {
        [
            NFT_MSG_GETTABLE, NFT_MSG_GETCHAIN, NFT_MSG_GETRULE, NFT_MSG_GETSET, NFT_MSG_GETSETELEM, NFT_MSG_GETGEN,
            NFT_MSG_GETOBJ
        ]
        .map(type).contains(message.type)
    }

    func read(_ message: FakeMessage, generation: UInt32) throws -> [NetlinkMessage] {
        switch message.type {
        case Self.type(NFT_MSG_GETGEN):
            return [
                FakeMessage.build(type: Self.type(NFT_MSG_NEWGEN)) { header in
                    header.putExtraHeader(nfgenmsg(nfgen_family: 0, version: UInt8(NFNETLINK_V0), res_id: 0))
                    header.put(Int32(NFTA_GEN_ID.rawValue), u32: generation.bigEndian)
                }.reply(Self.type(NFT_MSG_NEWGEN))
            ]
        case Self.type(NFT_MSG_GETTABLE):
            let name = NFTA_TABLE_NAME.rawValue
            guard let table, Self.name(table, name) == Self.name(message, name) else {
                throw FakeRefusal(errno: ENOENT)
            }
            return [table.reply(Self.type(NFT_MSG_NEWTABLE))]
        case Self.type(NFT_MSG_GETCHAIN): return chains.map { $0.reply(Self.type(NFT_MSG_NEWCHAIN)) }
        case Self.type(NFT_MSG_GETRULE): return rules.map { $0.listed.reply(Self.type(NFT_MSG_NEWRULE)) }
        case Self.type(NFT_MSG_GETSET): return sets.map { $0.reply(Self.type(NFT_MSG_NEWSET)) }
        case Self.type(NFT_MSG_GETOBJ): return counters.map { $0.reply(Self.type(NFT_MSG_NEWOBJ)) }
        case Self.type(NFT_MSG_GETSETELEM):
            guard let set = Self.name(message, NFTA_SET_ELEM_LIST_SET.rawValue), let list = elements[set] else {
                throw FakeRefusal(errno: ENOENT)
            }
            return list.map { $0.reply(Self.type(NFT_MSG_NEWSETELEM)) }
        default:
            throw FakeRefusal(errno: EOPNOTSUPP)
        }
    }

    /// Takes one batch (begin, messages, end): the answer to each message, and whether it was
    /// committed. `generation`: the ruleset's, which a batch that names another is refused by.
    mutating func commit(_ batch: [FakeMessage], generation: UInt32, handles: inout UInt64) -> [NetlinkAnswer] {
        guard let begin = batch.first, begin.type == UInt16(NFNL_MSG_BATCH_BEGIN),
            batch.last?.type == UInt16(NFNL_MSG_BATCH_END)
        else {
            return [NetlinkAnswer(sequence: batch.first?.sequence ?? 0, errno: EINVAL, detail: "not a batch")]
        }
        let named = begin.attributes(after: Self.header).u32(Int32(NFNL_BATCH_GENID.rawValue))
            .map { UInt32(bigEndian: $0) }
        if let named, named != generation {
            return [NetlinkAnswer(sequence: begin.sequence, errno: ERESTART, detail: nil)]
        }
        var next = self
        var nextHandle = handles
        var answers: [NetlinkAnswer] = []
        for message in batch.dropFirst().dropLast() {
            let errno = next.change(message, handles: &nextHandle)
            answers.append(NetlinkAnswer(sequence: message.sequence, errno: errno, detail: nil))
            if errno != 0 { return answers }
        }
        self = next
        handles = nextHandle
        return answers
    }

    private mutating func change(_ message: FakeMessage, handles: inout UInt64) -> Int32 {
        let excl = message.has(NLM_F_EXCL)
        switch message.type {
        case Self.type(NFT_MSG_NEWTABLE):
            if table != nil { return excl ? EEXIST : 0 }
            table = message.stored
        case Self.type(NFT_MSG_DELTABLE):
            guard table != nil else { return ENOENT }
            self = FakeNftables()
        case Self.type(NFT_MSG_NEWCHAIN):
            return Self.add(message, to: &chains, named: NFTA_CHAIN_NAME.rawValue, table: table)
        case Self.type(NFT_MSG_DELCHAIN):
            let chain = Self.name(message, NFTA_CHAIN_NAME.rawValue)
            if rules.contains(where: { Self.name($0.message, NFTA_RULE_CHAIN.rawValue) == chain }) { return EBUSY }
            return Self.remove(message, from: &chains, named: NFTA_CHAIN_NAME.rawValue)
        case Self.type(NFT_MSG_NEWOBJ):
            return Self.add(message, to: &counters, named: NFTA_OBJ_NAME.rawValue, table: table)
        case Self.type(NFT_MSG_DELOBJ):
            return Self.remove(message, from: &counters, named: NFTA_OBJ_NAME.rawValue)
        case Self.type(NFT_MSG_NEWSET):
            // The set's ID only names it within its transaction: not kept.
            let kept = message.rawAttributes(after: Self.header).filter { $0.type != UInt16(NFTA_SET_ID.rawValue) }
            let set = message.with(kept, after: Self.header)
            let errno = Self.add(set, to: &sets, named: NFTA_SET_NAME.rawValue, table: table)
            if errno == 0, let name = Self.name(message, NFTA_SET_NAME.rawValue), elements[name] == nil {
                elements[name] = []
            }
            return errno
        case Self.type(NFT_MSG_DELSET):
            elements[Self.name(message, NFTA_SET_NAME.rawValue) ?? ""] = nil
            return Self.remove(message, from: &sets, named: NFTA_SET_NAME.rawValue)
        case Self.type(NFT_MSG_NEWSETELEM):
            guard let set = Self.name(message, NFTA_SET_ELEM_LIST_SET.rawValue), elements[set] != nil else {
                return ENOENT
            }
            elements[set]!.append(Self.listed(message.stored))
        case Self.type(NFT_MSG_DELSETELEM):
            guard let set = Self.name(message, NFTA_SET_ELEM_LIST_SET.rawValue), let list = elements[set] else {
                return ENOENT
            }
            // No element list: the set is flushed.
            let listed = message.attributes(after: Self.header).bytes(Int32(NFTA_SET_ELEM_LIST_ELEMENTS.rawValue))
            guard let gone = listed else {
                elements[set] = []
                return 0
            }
            let keys = Set(FakeMessage.unpack(gone).map { Self.key($0.data) })
            guard let kept = Self.without(keys, list) else { return ENOENT }
            elements[set] = kept
        case Self.type(NFT_MSG_NEWRULE):
            let chain = Self.name(message, NFTA_RULE_CHAIN.rawValue)
            guard chains.contains(where: { Self.name($0, NFTA_CHAIN_NAME.rawValue) == chain }) else { return ENOENT }
            handles += 1
            let rule = Rule(message: message.stored, handle: handles)
            // NFTA_RULE_POSITION: before the rule of that handle; else at the end.
            guard let position = Self.handle(message, NFTA_RULE_POSITION.rawValue) else {
                rules.append(rule)
                return 0
            }
            guard let index = rules.firstIndex(where: { $0.handle == position }) else { return ENOENT }
            rules.insert(rule, at: index)
        case Self.type(NFT_MSG_DELRULE):
            let handle = Self.handle(message, NFTA_RULE_HANDLE.rawValue)
            guard let index = rules.firstIndex(where: { $0.handle == handle }) else { return ENOENT }
            rules.remove(at: index)
        default:
            return EOPNOTSUPP
        }
        return 0
    }

    /// Adds a named object to a table that exists.
    private static func add(
        _ message: FakeMessage, to list: inout [FakeMessage], named attribute: UInt32,
        table: FakeMessage?
    ) -> Int32 {
        guard table != nil else { return ENOENT }
        if list.contains(where: { Self.name($0, attribute) == Self.name(message, attribute) }) {
            return message.has(NLM_F_EXCL) ? EEXIST : 0
        }
        list.append(message.stored)
        return 0
    }

    private static func remove(_ message: FakeMessage, from list: inout [FakeMessage], named attribute: UInt32)
        -> Int32
    {
        let name = Self.name(message, attribute)
        guard let index = list.firstIndex(where: { Self.name($0, attribute) == name }) else { return ENOENT }
        list.remove(at: index)
        return 0
    }

    private static func handle(_ message: FakeMessage, _ attribute: UInt32) -> UInt64? {
        message.attributes(after: header).bytes(Int32(attribute)).map { bytes in
            bytes.reduce(0) { $0 << 8 | UInt64($1) }
        }
    }

    /// An element list as the kernel lists it back: libnftnl numbers the elements it sends
    /// (1, 2, 3...), the kernel calls each NFTA_LIST_ELEM.
    private static func listed(_ list: FakeMessage) -> FakeMessage {
        let attributes = list.rawAttributes(after: header).map { attribute -> FakeMessage.Attribute in
            guard attribute.type & 0x3fff == UInt16(NFTA_SET_ELEM_LIST_ELEMENTS.rawValue) else { return attribute }
            let element = UInt16(NFTA_LIST_ELEM.rawValue) | UInt16(NLA_F_NESTED)
            let elements = FakeMessage.unpack(attribute.data).map { (element, $0.data) }
            return (attribute.type, FakeMessage.pack(elements))
        }
        return list.with(attributes, after: header)
    }

    /// An element's key: NFTA_SET_ELEM_KEY inside one NFTA_LIST_ELEM.
    private static func key(_ element: [UInt8]) -> [UInt8] {
        FakeMessage.unpack(element).first { $0.type & 0x3fff == UInt16(NFTA_SET_ELEM_KEY.rawValue) }?.data ?? []
    }

    /// The element lists without the elements of `keys`; nil when one of them is not there.
    private static func without(_ keys: Set<[UInt8]>, _ lists: [FakeMessage]) -> [FakeMessage]? {
        var found: Set<[UInt8]> = []
        let kept = lists.compactMap { list -> FakeMessage? in
            let attributes = list.rawAttributes(after: header).compactMap { attribute -> FakeMessage.Attribute? in
                guard attribute.type & 0x3fff == UInt16(NFTA_SET_ELEM_LIST_ELEMENTS.rawValue) else { return attribute }
                let elements = FakeMessage.unpack(attribute.data).filter { element in
                    guard keys.contains(key(element.data)) else { return true }
                    found.insert(key(element.data))
                    return false
                }
                return elements.isEmpty ? nil : (attribute.type, FakeMessage.pack(elements))
            }
            return attributes.contains { $0.type & 0x3fff == UInt16(NFTA_SET_ELEM_LIST_ELEMENTS.rawValue) }
                ? list.with(attributes, after: header) : nil
        }
        return found == keys ? kept : nil
    }

    private static func name(_ message: FakeMessage, _ attribute: UInt32) -> String? {
        message.string(attribute, after: Self.header)
    }
}
