import CNetlink
import UplinkCore

/// One nfnetlink message for each change to our table, built with libnftnl objects.
/// Every message carries the inet family and asks for an acknowledgement.
struct NftMessages {
    let table: String

    typealias Build = (UnsafeMutablePointer<nlmsghdr>) -> Void

    /// One message: its type, netlink flags, payload, and room it needs.
    struct Message {
        let type: UInt32
        let flags: Int32
        let build: Build
        var capacity = 4096
    }

    /// An element list is one netlink attribute, whose length has 16 bits: lists are cut into
    /// messages of at most this many bytes of elements (concatenated keys make big elements).
    static let elementBytesPerMessage = 48 * 1024

    /// The messages of a change: one, or for a new set or map its definition and its elements,
    /// and for a long element list several.
    func messages(_ change: NftChange, setID: UInt32) -> [Message] {
        let create = Int32(NLM_F_CREATE | NLM_F_EXCL)
        switch change {
        case .addSet(let set):
            return [
                Message(
                    type: NFT_MSG_NEWSET.rawValue, flags: create,
                    build: setObject(NftSetEncoding.definition(set), id: setID))
            ]
                + elementMessages(NFT_MSG_NEWSETELEM, create, set.name, NftSetEncoding.elements(set))
        case .addMap(let map):
            let definition = setObject(NftMapEncoding.definition(map), id: setID)
            return [Message(type: NFT_MSG_NEWSET.rawValue, flags: create, build: definition)]
                + elementMessages(NFT_MSG_NEWSETELEM, create, map.name, NftMapEncoding.elements(map))
        case .addSetElements(let set):
            return elementMessages(NFT_MSG_NEWSETELEM, create, set.name, NftSetEncoding.elements(set))
        case .addMapElements(let map):
            let elements = NftMapEncoding.elements(map, startingEmpty: false)
            return elementMessages(NFT_MSG_NEWSETELEM, create, map.name, elements)
        case .deleteMapElements(let map):
            let elements = NftMapEncoding.elements(map, startingEmpty: false, withVerdicts: false)
            return elementMessages(NFT_MSG_DELSETELEM, 0, map.name, elements)
        default:
            let (type, flags, build) = message(change)
            return [Message(type: type, flags: flags, build: build)]
        }
    }

    private func elementMessages(_ type: nf_tables_msg_types, _ flags: Int32, _ set: String, _ all: [NftSetElement])
        -> [Message]
    {
        var chunks: [[NftSetElement]] = []
        var size = 0
        for element in all {
            let bytes = Self.encodedSize(element)
            if chunks.isEmpty || size + bytes > Self.elementBytesPerMessage {
                chunks.append([])
                size = 0
            }
            chunks[chunks.count - 1].append(element)
            size += bytes
        }
        return chunks.map { chunk in
            Message(
                type: type.rawValue, flags: flags, build: elements(set, chunk),
                capacity: 4096 + chunk.map(Self.encodedSize).reduce(0, +))
        }
    }

    /// An element's attributes with their headers and padding, rounded up.
    static func encodedSize(_ element: NftSetElement) -> Int {
        func attribute(_ length: Int) -> Int { 4 + (length + 3) / 4 * 4 }
        var size = attribute(0) + attribute(attribute(element.key.count))
        if let end = element.keyEnd { size += attribute(attribute(end.count)) }
        if element.intervalEnd { size += attribute(4) }
        if let verdict = element.verdict {
            size += attribute(attribute(attribute(4) + attribute((verdict.chain?.utf8.count ?? 0) + 1)))
        }
        if let userdata = element.userdata { size += attribute(userdata.count) }
        return size
    }

    /// The message type, netlink flags and payload of a change that is one message.
    private func message(_ change: NftChange) -> (type: UInt32, flags: Int32, build: Build) {
        let create = Int32(NLM_F_CREATE | NLM_F_EXCL)
        switch change {
        case .addTable:
            return (NFT_MSG_NEWTABLE.rawValue, create, { tableObject($0, flags: 0) })
        case .deleteTable:
            return (NFT_MSG_DELTABLE.rawValue, 0, { tableObject($0, flags: nil) })
        case .addCounter(let name):
            return (NFT_MSG_NEWOBJ.rawValue, create, counterObject(name, withValues: true))
        case .deleteCounter(let name):
            return (NFT_MSG_DELOBJ.rawValue, 0, counterObject(name, withValues: false))
        case .addSet, .addMap, .addSetElements, .addMapElements, .deleteMapElements:
            preconditionFailure("element lists are built by elementMessages")
        case .deleteSet(let name), .deleteMap(let name):
            return (NFT_MSG_DELSET.rawValue, 0, setReference(name))
        case .flushSet(let name):
            // DELSETELEM without an element list empties the set.
            return (
                NFT_MSG_DELSETELEM.rawValue, 0,
                { header in
                    header.put(Int32(NFTA_SET_ELEM_LIST_TABLE.rawValue), string: table)
                    header.put(Int32(NFTA_SET_ELEM_LIST_SET.rawValue), string: name)
                }
            )
        case .addChain(let name, let hook):
            return (NFT_MSG_NEWCHAIN.rawValue, create, chainObject(name, hook))
        case .deleteChain(let name):
            return (NFT_MSG_DELCHAIN.rawValue, 0, chainObject(name, nil))
        case .addRule(let chain, let rule, let before):
            return (
                NFT_MSG_NEWRULE.rawValue, create | (before == nil ? Int32(NLM_F_APPEND) : 0),
                ruleObject(chain, rule: rule, before: before)
            )
        case .deleteRule(let chain, let handle, _):
            return (
                NFT_MSG_DELRULE.rawValue, 0,
                { header in
                    let rule = nftnl_rule_alloc()!
                    defer { nftnl_rule_free(rule) }
                    nftnl_rule_set_str(rule, UInt16(NFTNL_RULE_TABLE.rawValue), table)
                    nftnl_rule_set_str(rule, UInt16(NFTNL_RULE_CHAIN.rawValue), chain)
                    nftnl_rule_set_u64(rule, UInt16(NFTNL_RULE_HANDLE.rawValue), handle)
                    nftnl_rule_nlmsg_build_payload(header, rule)
                }
            )
        }
    }

    /// `flags`: a new table's (0: active), which nft always sends.
    private func tableObject(_ header: UnsafeMutablePointer<nlmsghdr>, flags: UInt32?) {
        let object = nftnl_table_alloc()!
        defer { nftnl_table_free(object) }
        nftnl_table_set_str(object, UInt16(NFTNL_TABLE_NAME.rawValue), table)
        if let flags { nftnl_table_set_u32(object, UInt16(NFTNL_TABLE_FLAGS.rawValue), flags) }
        nftnl_table_nlmsg_build_payload(header, object)
    }

    private func counterObject(_ name: String, withValues: Bool) -> Build {
        { header in
            let object = nftnl_obj_alloc()!
            defer { nftnl_obj_free(object) }
            nftnl_obj_set_str(object, UInt16(NFTNL_OBJ_TABLE), table)
            nftnl_obj_set_str(object, UInt16(NFTNL_OBJ_NAME), name)
            nftnl_obj_set_u32(object, UInt16(NFTNL_OBJ_TYPE), UInt32(NFT_OBJECT_COUNTER))
            if withValues {
                nftnl_obj_set_u64(object, UInt16(NFTNL_OBJ_CTR_PKTS), 0)
                nftnl_obj_set_u64(object, UInt16(NFTNL_OBJ_CTR_BYTES), 0)
            }
            nftnl_obj_nlmsg_build_payload(header, object)
        }
    }

    /// A new set; the kernel wants an ID for it, unique within the transaction.
    private func setObject(_ definition: NftSetDefinition, id: UInt32) -> Build {
        { header in
            let set = nftnl_set_alloc()!
            defer { nftnl_set_free(set) }
            nftnl_set_set_u32(set, UInt16(NFTNL_SET_ID.rawValue), id)
            nftnl_set_set_str(set, UInt16(NFTNL_SET_TABLE.rawValue), table)
            nftnl_set_set_str(set, UInt16(NFTNL_SET_NAME.rawValue), definition.name)
            nftnl_set_set_u32(set, UInt16(NFTNL_SET_FLAGS.rawValue), definition.flags)
            nftnl_set_set_u32(set, UInt16(NFTNL_SET_KEY_TYPE.rawValue), definition.keyType)
            nftnl_set_set_u32(set, UInt16(NFTNL_SET_KEY_LEN.rawValue), definition.keyLength)
            if let dataType = definition.dataType {
                nftnl_set_set_u32(set, UInt16(NFTNL_SET_DATA_TYPE.rawValue), dataType)
                nftnl_set_set_u32(set, UInt16(NFTNL_SET_DATA_LEN.rawValue), 0)
            }
            definition.userdata.withUnsafeBytes {
                _ = nftnl_set_set_data(set, UInt16(NFTNL_SET_USERDATA.rawValue), $0.baseAddress, UInt32($0.count))
            }
            if !definition.fieldLengths.isEmpty {
                definition.fieldLengths.withUnsafeBytes {
                    _ = nftnl_set_set_data(
                        set, UInt16(NFTNL_SET_DESC_CONCAT.rawValue), $0.baseAddress, UInt32($0.count))
                }
            }
            nftnl_set_nlmsg_build_payload(header, set)
        }
    }

    private func setReference(_ name: String) -> Build {
        { header in
            let set = nftnl_set_alloc()!
            defer { nftnl_set_free(set) }
            nftnl_set_set_str(set, UInt16(NFTNL_SET_TABLE.rawValue), table)
            nftnl_set_set_str(set, UInt16(NFTNL_SET_NAME.rawValue), name)
            nftnl_set_nlmsg_build_payload(header, set)
        }
    }

    private func elements(_ setName: String, _ elements: [NftSetElement]) -> Build {
        { header in
            // Table, then set, then the elements: the order nft writes them in.
            mnl_attr_put_strz(header, UInt16(NFTA_SET_ELEM_LIST_TABLE.rawValue), table)
            mnl_attr_put_strz(header, UInt16(NFTA_SET_ELEM_LIST_SET.rawValue), setName)
            let set = nftnl_set_alloc()!
            defer { nftnl_set_free(set) }
            for element in elements {
                let e = nftnl_set_elem_alloc()!
                element.key.withUnsafeBytes {
                    _ = nftnl_set_elem_set(e, UInt16(NFTNL_SET_ELEM_KEY), $0.baseAddress, UInt32($0.count))
                }
                element.keyEnd?.withUnsafeBytes {
                    _ = nftnl_set_elem_set(e, UInt16(NFTNL_SET_ELEM_KEY_END), $0.baseAddress, UInt32($0.count))
                }
                if element.intervalEnd {
                    nftnl_set_elem_set_u32(e, UInt16(NFTNL_SET_ELEM_FLAGS), UInt32(NFT_SET_ELEM_INTERVAL_END.rawValue))
                }
                if let verdict = element.verdict {
                    nftnl_set_elem_set_u32(e, UInt16(NFTNL_SET_ELEM_VERDICT), UInt32(bitPattern: verdict.code))
                    if let chain = verdict.chain { nftnl_set_elem_set_str(e, UInt16(NFTNL_SET_ELEM_CHAIN), chain) }
                }
                if let userdata = element.userdata {
                    userdata.withUnsafeBytes {
                        _ = nftnl_set_elem_set(e, UInt16(NFTNL_SET_ELEM_USERDATA), $0.baseAddress, UInt32($0.count))
                    }
                }
                nftnl_set_elem_add(set, e)
            }
            nftnl_set_elems_nlmsg_build_payload(header, set)
        }
    }

    private func chainObject(_ name: String, _ hook: NftHook?) -> Build {
        { header in
            let chain = nftnl_chain_alloc()!
            defer { nftnl_chain_free(chain) }
            nftnl_chain_set_str(chain, UInt16(NFTNL_CHAIN_TABLE.rawValue), table)
            nftnl_chain_set_str(chain, UInt16(NFTNL_CHAIN_NAME.rawValue), name)
            nftnl_chain_nlmsg_build_payload(header, chain)
            // A base chain's type, policy and hook, in nft's order (libnftnl's is the reverse).
            if let hook {
                header.put(Int32(NFTA_CHAIN_TYPE.rawValue), string: hook.type.rawValue)
                header.put(Int32(NFTA_CHAIN_POLICY.rawValue), u32: UInt32(NF_ACCEPT).bigEndian)
                let nest = header.startNest(Int32(NFTA_CHAIN_HOOK.rawValue))
                header.put(Int32(NFTA_HOOK_HOOKNUM.rawValue), u32: NftHookNumbers.number(hook.point).bigEndian)
                header.put(Int32(NFTA_HOOK_PRIORITY.rawValue), u32: UInt32(bitPattern: hook.priority).bigEndian)
                header.endNest(nest)
            }
        }
    }

    private func ruleObject(_ chainName: String, rule model: NftRule, before: UInt64?) -> Build {
        { header in
            let rule = nftnl_rule_alloc()!
            defer { nftnl_rule_free(rule) }
            nftnl_rule_set_str(rule, UInt16(NFTNL_RULE_TABLE.rawValue), table)
            nftnl_rule_set_str(rule, UInt16(NFTNL_RULE_CHAIN.rawValue), chainName)
            if let before { nftnl_rule_set_u64(rule, UInt16(NFTNL_RULE_POSITION.rawValue), before) }
            let expressions = NftRuleEncoding.expressions(model)
            for (index, expression) in expressions.enumerated() {
                let next = expressions.indices.contains(index + 1) ? expressions[index + 1] : nil
                nftnl_rule_add_expr(rule, NftExpressionNetlink.make(expression, before: next))
            }
            nftnl_rule_nlmsg_build_payload(header, rule)
        }
    }
}

/// Netfilter hook numbers (NF_INET_*).
enum NftHookNumbers {
    static func number(_ point: NftHook.Point) -> UInt32 {
        switch point {
        case .prerouting: return UInt32(NF_INET_PRE_ROUTING.rawValue)
        case .input: return UInt32(NF_INET_LOCAL_IN.rawValue)
        case .forward: return UInt32(NF_INET_FORWARD.rawValue)
        case .output: return UInt32(NF_INET_LOCAL_OUT.rawValue)
        case .postrouting: return UInt32(NF_INET_POST_ROUTING.rawValue)
        }
    }

    static func point(_ number: UInt32) -> NftHook.Point? {
        [NftHook.Point.prerouting, .input, .forward, .output, .postrouting].first { self.number($0) == number }
    }
}
