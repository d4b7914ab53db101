import CNetlink
import Glibc
import UplinkCore

/// Lists our nft table over nfnetlink and reads it back into the model.
struct NftTableReader {
    let socket: any NetlinkTransport
    let table: String

    /// Nil when the table does not exist.
    func read() throws -> LiveNftTable? {
        do {
            _ = try request(NFT_MSG_GETTABLE, dump: false) { header in
                header.put(Int32(NFTA_TABLE_NAME.rawValue), string: table)
            }
        } catch let refusal as KernelRefusal where refusal.errno == ENOENT {
            return nil
        }
        var sets: [NftSet] = []
        var maps: [NftVerdictMap] = []
        var unreadable: [String] = []
        let rules = try self.rules()
        let keys = Self.mapKeys(rules.values.flatMap { $0 })
        let definitions = try setDefinitions()
        for definition in definitions {
            let elements = try self.elements(of: definition.name)
            if let map = NftMapEncoding.map(definition, elements: elements, lookedUpBy: keys[definition.name]) {
                maps.append(map)
            } else if let set = NftSetEncoding.set(definition, elements: elements) {
                sets.append(set)
            } else {
                unreadable.append(definition.name)
            }
        }
        let chains = try chainHeads().map { head in
            LiveNftChain(name: head.name, hook: head.hook, hookReadable: head.readable, rules: rules[head.name] ?? [])
        }
        return LiveNftTable(
            counters: try counters().map(\.name), sets: sets, maps: maps, unreadableSets: unreadable,
            chains: chains, setOrder: definitions.map(\.name))
    }

    /// What each map is looked up by, from our rules that look it up: the kernel's map itself
    /// keeps only the key's datatypes. A map looked up by different keys has none.
    static func mapKeys(_ rules: [LiveNftRule]) -> [String: NftMapKey] {
        var keys: [String: NftMapKey?] = [:]
        for rule in rules {
            guard case .lookup(let key, _, let map)? = rule.rule?.end else { continue }
            if let known = keys[map], known != key { keys[map] = .some(nil) } else { keys[map] = key }
        }
        return keys.compactMapValues { $0 }
    }

    /// The ruleset's generation: it changes with every committed nftables transaction.
    func generation() throws -> UInt32? {
        let messages = try request(NFT_MSG_GETGEN, dump: false) { _ in }
        return messages.lazy.compactMap { message in
            message.withHeader { header in
                NetlinkAttributes(header, headerSize: MemoryLayout<nfgenmsg>.size).u32(Int32(NFTA_GEN_ID.rawValue)).map
                { UInt32(bigEndian: $0) }
            }
        }.first
    }

    struct CounterValue {
        let name: String
        let packets: UInt64
        let bytes: UInt64
    }

    func counters() throws -> [CounterValue] {
        try request(NFT_MSG_GETOBJ, dump: true) { header in
            header.put(Int32(NFTA_OBJ_TABLE.rawValue), string: table)
            header.put(Int32(NFTA_OBJ_TYPE.rawValue), u32: UInt32(NFT_OBJECT_COUNTER).bigEndian)
        }.compactMap { message in
            message.withHeader { header -> CounterValue? in
                let object = nftnl_obj_alloc()!
                defer { nftnl_obj_free(object) }
                guard nftnl_obj_nlmsg_parse(header, object) >= 0,
                    nftnl_obj_get_u32(object, UInt16(NFTNL_OBJ_TYPE)) == UInt32(NFT_OBJECT_COUNTER),
                    string(nftnl_obj_get_str(object, UInt16(NFTNL_OBJ_TABLE))) == table,
                    let name = string(nftnl_obj_get_str(object, UInt16(NFTNL_OBJ_NAME)))
                else { return nil }
                return CounterValue(
                    name: name, packets: nftnl_obj_get_u64(object, UInt16(NFTNL_OBJ_CTR_PKTS)),
                    bytes: nftnl_obj_get_u64(object, UInt16(NFTNL_OBJ_CTR_BYTES)))
            }
        }
    }

    // MARK: Chains and rules

    struct ChainHead {
        let name: String
        let hook: NftHook?
        let readable: Bool
    }

    private func chainHeads() throws -> [ChainHead] {
        try request(NFT_MSG_GETCHAIN, dump: true) { _ in }.compactMap { message in
            message.withHeader { header -> ChainHead? in
                let chain = nftnl_chain_alloc()!
                defer { nftnl_chain_free(chain) }
                guard nftnl_chain_nlmsg_parse(header, chain) >= 0,
                    string(nftnl_chain_get_str(chain, UInt16(NFTNL_CHAIN_TABLE.rawValue))) == table,
                    let name = string(nftnl_chain_get_str(chain, UInt16(NFTNL_CHAIN_NAME.rawValue)))
                else { return nil }
                guard nftnl_chain_is_set(chain, UInt16(NFTNL_CHAIN_HOOKNUM.rawValue)) else {
                    return ChainHead(name: name, hook: nil, readable: true)
                }
                let point = NftHookNumbers.point(nftnl_chain_get_u32(chain, UInt16(NFTNL_CHAIN_HOOKNUM.rawValue)))
                let type = string(nftnl_chain_get_str(chain, UInt16(NFTNL_CHAIN_TYPE.rawValue))).flatMap(
                    NftHook.ChainType.init(rawValue:))
                let policy = nftnl_chain_get_u32(chain, UInt16(NFTNL_CHAIN_POLICY.rawValue))
                guard let point, let type, policy == UInt32(NF_ACCEPT) else {
                    return ChainHead(name: name, hook: nil, readable: false)
                }
                let priority = nftnl_chain_get_s32(chain, UInt16(NFTNL_CHAIN_PRIO.rawValue))
                return ChainHead(
                    name: name, hook: NftHook(type: type, point: point, priority: priority), readable: true)
            }
        }
    }

    /// Rules by chain, in order, with their handles.
    private func rules() throws -> [String: [LiveNftRule]] {
        var result: [String: [LiveNftRule]] = [:]
        let messages = try request(NFT_MSG_GETRULE, dump: true) { header in
            header.put(Int32(NFTA_RULE_TABLE.rawValue), string: table)
        }
        for message in messages {
            message.withHeader { header in
                let rule = nftnl_rule_alloc()!
                defer { nftnl_rule_free(rule) }
                guard nftnl_rule_nlmsg_parse(header, rule) >= 0,
                    string(nftnl_rule_get_str(rule, UInt16(NFTNL_RULE_TABLE.rawValue))) == table,
                    let chain = string(nftnl_rule_get_str(rule, UInt16(NFTNL_RULE_CHAIN.rawValue)))
                else { return }
                var expressions: [NftExpression] = []
                let iterator = nftnl_expr_iter_create(rule)!
                defer { nftnl_expr_iter_destroy(iterator) }
                while let expression = nftnl_expr_iter_next(iterator) {
                    expressions.append(NftExpressionNetlink.read(expression))
                }
                let handle = nftnl_rule_get_u64(rule, UInt16(NFTNL_RULE_HANDLE.rawValue))
                result[chain, default: []].append(LiveNftRule(handle: handle, expressions: expressions))
            }
        }
        return result
    }

    // MARK: Sets

    private func setDefinitions() throws -> [NftSetDefinition] {
        try request(NFT_MSG_GETSET, dump: true) { header in
            header.put(Int32(NFTA_SET_TABLE.rawValue), string: table)
        }.compactMap { message in
            message.withHeader { header -> NftSetDefinition? in
                let set = nftnl_set_alloc()!
                defer { nftnl_set_free(set) }
                guard nftnl_set_nlmsg_parse(header, set) >= 0,
                    string(nftnl_set_get_str(set, UInt16(NFTNL_SET_TABLE.rawValue))) == table,
                    let name = string(nftnl_set_get_str(set, UInt16(NFTNL_SET_NAME.rawValue)))
                else { return nil }
                func u32(_ attribute: nftnl_set_attr) -> UInt32? {
                    nftnl_set_is_set(set, UInt16(attribute.rawValue))
                        ? nftnl_set_get_u32(set, UInt16(attribute.rawValue)) : nil
                }
                func data(_ attribute: nftnl_set_attr) -> [UInt8] {
                    guard nftnl_set_is_set(set, UInt16(attribute.rawValue)) else { return [] }
                    var length: UInt32 = 0
                    return nftnl_set_get_data(set, UInt16(attribute.rawValue), &length)
                        .map { Array(UnsafeRawBufferPointer(start: $0, count: Int(length))) } ?? []
                }
                return NftSetDefinition(
                    name: name, flags: u32(NFTNL_SET_FLAGS) ?? 0, keyType: u32(NFTNL_SET_KEY_TYPE) ?? 0,
                    keyLength: u32(NFTNL_SET_KEY_LEN) ?? 0, dataType: u32(NFTNL_SET_DATA_TYPE),
                    userdata: data(NFTNL_SET_USERDATA),
                    fieldLengths: data(NFTNL_SET_DESC_CONCAT))
            }
        }
    }

    private func elements(of setName: String) throws -> [NftSetElement] {
        let messages = try request(NFT_MSG_GETSETELEM, dump: true) { header in
            header.put(Int32(NFTA_SET_ELEM_LIST_TABLE.rawValue), string: table)
            header.put(Int32(NFTA_SET_ELEM_LIST_SET.rawValue), string: setName)
        }
        var result: [NftSetElement] = []
        for message in messages {
            message.withHeader { header in
                let set = nftnl_set_alloc()!
                defer { nftnl_set_free(set) }
                guard nftnl_set_elems_nlmsg_parse(header, set) >= 0 else { return }
                let iterator = nftnl_set_elems_iter_create(set)!
                defer { nftnl_set_elems_iter_destroy(iterator) }
                while let element = nftnl_set_elems_iter_next(iterator) {
                    func data(_ attribute: Int) -> [UInt8]? {
                        guard nftnl_set_elem_is_set(element, UInt16(attribute)) else { return nil }
                        var length: UInt32 = 0
                        return nftnl_set_elem_get(element, UInt16(attribute), &length).map {
                            Array(UnsafeRawBufferPointer(start: $0, count: Int(length)))
                        }
                    }
                    let flags =
                        nftnl_set_elem_is_set(element, UInt16(NFTNL_SET_ELEM_FLAGS))
                        ? nftnl_set_elem_get_u32(element, UInt16(NFTNL_SET_ELEM_FLAGS)) : 0
                    var verdict: NftVerdict?
                    if nftnl_set_elem_is_set(element, UInt16(NFTNL_SET_ELEM_VERDICT)) {
                        let code = Int32(bitPattern: nftnl_set_elem_get_u32(element, UInt16(NFTNL_SET_ELEM_VERDICT)))
                        let chain = string(nftnl_set_elem_get_str(element, UInt16(NFTNL_SET_ELEM_CHAIN)))
                        verdict = NftVerdict(code: code, chain: chain)
                    }
                    result.append(
                        NftSetElement(
                            key: data(NFTNL_SET_ELEM_KEY) ?? [], keyEnd: data(NFTNL_SET_ELEM_KEY_END),
                            intervalEnd: flags & NFT_SET_ELEM_INTERVAL_END.rawValue != 0,
                            verdict: verdict, userdata: data(NFTNL_SET_ELEM_USERDATA)))
                }
            }
        }
        return result
    }

    // MARK: Requests

    private func request(_ type: nf_tables_msg_types, dump: Bool, _ build: (UnsafeMutablePointer<nlmsghdr>) -> Void)
        throws -> [NetlinkMessage]
    {
        let flags = Int32(NLM_F_REQUEST) | (dump ? Int32(NLM_F_DUMP) : Int32(NLM_F_ACK))
        let messages = try socket.request(
            object: "nft list table inet \(table)", type: UInt16(NFNL_SUBSYS_NFTABLES << 8) | UInt16(type.rawValue),
            flags: flags
        ) { header in
            header.putExtraHeader(nfgenmsg(nfgen_family: UInt8(NFPROTO_INET), version: UInt8(NFNETLINK_V0), res_id: 0))
            build(header)
        }
        return messages.filter { $0.type != UInt16(NLMSG_DONE) }
    }
}

private func string(_ pointer: UnsafePointer<CChar>?) -> String? { pointer.map { String(cString: $0) } }
