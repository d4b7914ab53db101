import CNetlink
import UplinkCore

/// The model's expressions to libnftnl's and back: the only place that knows libnftnl's
/// attribute names for each expression.
enum NftExpressionNetlink {
    /// `fib daddr . mark`: the lookup a forwarded packet's own routing makes, bar `iif` rules.
    static let routeLookupFlags = UInt32(NFTA_FIB_F_DADDR.rawValue | NFTA_FIB_F_MARK.rawValue)
    /// NF_NAT_RANGE_PROTO_SPECIFIED: the NAT gives a port.
    static let portSpecified: UInt32 = 2
    /// NFT_EXTHDR_OP_TCPOPT: an exthdr expression on TCP options.
    static let tcpOptionOperation = UInt32(NFT_EXTHDR_OP_TCPOPT.rawValue)

    /// Whether nft says a bitwise's operation (NFT_BITWISE_BOOL, the kernel's default) when the
    /// expression `next` follows it. nft says it for its `&` (a mark set, a map key masked, a
    /// bit field such as the MPTCP subtype: a comparison of that one byte follows) and leaves it
    /// out of a flag test (`ct status dnat`: a 32-bit word compared with 0) and of a prefix (an
    /// address compared). The previous expression would tell them apart without the byte count;
    /// the rule's builder hands over only the next one.
    static func saysOperation(before next: NftExpression?) -> Bool {
        guard case .compare(_, _, let data)? = next else { return true }
        return data.count == 1
    }

    /// A new libnftnl expression; the caller hands it to a rule, which frees it. `next`: the
    /// expression after it in the rule (whether nft says a bitwise's operation: saysOperation).
    static func make(_ expression: NftExpression, before next: NftExpression? = nil) -> OpaquePointer {
        func new(_ name: String) -> OpaquePointer { nftnl_expr_alloc(name)! }
        func u32(_ e: OpaquePointer, _ attribute: Int, _ value: UInt32) {
            nftnl_expr_set_u32(e, UInt16(attribute), value)
        }
        func bytes(_ e: OpaquePointer, _ attribute: Int, _ value: [UInt8]) {
            value.withUnsafeBytes { _ = nftnl_expr_set(e, UInt16(attribute), $0.baseAddress, UInt32($0.count)) }
        }
        switch expression {
        case .metaLoad(let key, let register):
            let e = new("meta")
            u32(e, NFTNL_EXPR_META_KEY, key.rawValue)
            u32(e, NFTNL_EXPR_META_DREG, register)
            return e
        case .metaSet(let key, let register):
            let e = new("meta")
            u32(e, NFTNL_EXPR_META_KEY, key.rawValue)
            u32(e, NFTNL_EXPR_META_SREG, register)
            return e
        case .conntrackLoad(let key, let register):
            let e = new("ct")
            u32(e, NFTNL_EXPR_CT_KEY, key.rawValue)
            u32(e, NFTNL_EXPR_CT_DREG, register)
            return e
        case .conntrackSet(let key, let register):
            let e = new("ct")
            u32(e, NFTNL_EXPR_CT_KEY, key.rawValue)
            u32(e, NFTNL_EXPR_CT_SREG, register)
            return e
        case .payloadLoad(let base, let offset, let length, let register):
            let e = new("payload")
            u32(e, NFTNL_EXPR_PAYLOAD_DREG, register)
            u32(e, NFTNL_EXPR_PAYLOAD_BASE, base.rawValue)
            u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, offset)
            u32(e, NFTNL_EXPR_PAYLOAD_LEN, length)
            return e
        case .tcpOptionLoad(let kind, let offset, let length, let register):
            // As nft sends it: DREG, TYPE, OFFSET, LEN, OP and FLAGS 0 (not NFT_EXTHDR_F_PRESENT).
            let e = new("exthdr")
            u32(e, NFTNL_EXPR_EXTHDR_DREG, register)
            nftnl_expr_set_u8(e, UInt16(NFTNL_EXPR_EXTHDR_TYPE), kind)
            u32(e, NFTNL_EXPR_EXTHDR_OFFSET, offset)
            u32(e, NFTNL_EXPR_EXTHDR_LEN, length)
            u32(e, NFTNL_EXPR_EXTHDR_OP, Self.tcpOptionOperation)
            u32(e, NFTNL_EXPR_EXTHDR_FLAGS, 0)
            return e
        case .compare(let op, let register, let data):
            let e = new("cmp")
            u32(e, NFTNL_EXPR_CMP_SREG, register)
            u32(e, NFTNL_EXPR_CMP_OP, op.rawValue)
            bytes(e, NFTNL_EXPR_CMP_DATA, data)
            return e
        case .bitwise(let register, let mask, let xor):
            let e = new("bitwise")
            u32(e, NFTNL_EXPR_BITWISE_SREG, register)
            u32(e, NFTNL_EXPR_BITWISE_DREG, register)
            if saysOperation(before: next) { u32(e, NFTNL_EXPR_BITWISE_OP, 0) }
            u32(e, NFTNL_EXPR_BITWISE_LEN, UInt32(mask.count))
            bytes(e, NFTNL_EXPR_BITWISE_MASK, mask)
            bytes(e, NFTNL_EXPR_BITWISE_XOR, xor)
            return e
        case .hostToNetwork(let register, let length, let size):
            let e = new("byteorder")
            u32(e, NFTNL_EXPR_BYTEORDER_SREG, register)
            u32(e, NFTNL_EXPR_BYTEORDER_DREG, register)
            u32(e, NFTNL_EXPR_BYTEORDER_OP, UInt32(NFT_BYTEORDER_HTON.rawValue))
            u32(e, NFTNL_EXPR_BYTEORDER_LEN, length)
            u32(e, NFTNL_EXPR_BYTEORDER_SIZE, size)
            return e
        case .jenkinsHash(let source, let length, let modulus, let seed, let register):
            let e = new("hash")
            u32(e, NFTNL_EXPR_HASH_SREG, source)
            u32(e, NFTNL_EXPR_HASH_DREG, register)
            u32(e, NFTNL_EXPR_HASH_LEN, length)
            u32(e, NFTNL_EXPR_HASH_MODULUS, modulus)
            u32(e, NFTNL_EXPR_HASH_SEED, seed)
            u32(e, NFTNL_EXPR_HASH_OFFSET, 0)
            u32(e, NFTNL_EXPR_HASH_TYPE, UInt32(NFT_HASH_JENKINS.rawValue))
            return e
        case .lookup(let set, let register, let verdictRegister):
            let e = new("lookup")
            u32(e, NFTNL_EXPR_LOOKUP_SREG, register)
            if verdictRegister { u32(e, NFTNL_EXPR_LOOKUP_DREG, UInt32(NFT_REG_VERDICT.rawValue)) }
            nftnl_expr_set_str(e, UInt16(NFTNL_EXPR_LOOKUP_SET), set)
            return e
        case .verdict(let verdict):
            let e = new("immediate")
            u32(e, NFTNL_EXPR_IMM_DREG, UInt32(NFT_REG_VERDICT.rawValue))
            u32(e, NFTNL_EXPR_IMM_VERDICT, UInt32(bitPattern: verdict.code))
            if let chain = verdict.chain { nftnl_expr_set_str(e, UInt16(NFTNL_EXPR_IMM_CHAIN), chain) }
            return e
        case .fibDestinationType(let register):
            let e = new("fib")
            u32(e, NFTNL_EXPR_FIB_DREG, register)
            u32(e, NFTNL_EXPR_FIB_RESULT, UInt32(NFT_FIB_RESULT_ADDRTYPE.rawValue))
            u32(e, NFTNL_EXPR_FIB_FLAGS, UInt32(NFTA_FIB_F_DADDR.rawValue))
            return e
        case .fibRouteInterfaceName(let register):
            let e = new("fib")
            u32(e, NFTNL_EXPR_FIB_DREG, register)
            u32(e, NFTNL_EXPR_FIB_RESULT, UInt32(NFT_FIB_RESULT_OIFNAME.rawValue))
            u32(e, NFTNL_EXPR_FIB_FLAGS, Self.routeLookupFlags)
            return e
        case .numberGenerator(let generator, let modulus, let register):
            let e = new("numgen")
            u32(e, NFTNL_EXPR_NG_DREG, register)
            u32(e, NFTNL_EXPR_NG_MODULUS, modulus)
            u32(
                e, NFTNL_EXPR_NG_TYPE,
                generator == .inc ? UInt32(NFT_NG_INCREMENTAL.rawValue) : UInt32(NFT_NG_RANDOM.rawValue))
            u32(e, NFTNL_EXPR_NG_OFFSET, 0)
            return e
        case .routeRealmLoad(let register):
            let e = new("rt")
            u32(e, NFTNL_EXPR_RT_KEY, UInt32(NFT_RT_CLASSID.rawValue))
            u32(e, NFTNL_EXPR_RT_DREG, register)
            return e
        case .objectReference(let type, let name):
            let e = new("objref")
            u32(e, NFTNL_EXPR_OBJREF_IMM_TYPE, type)
            nftnl_expr_set_str(e, UInt16(NFTNL_EXPR_OBJREF_IMM_NAME), name)
            return e
        case .masquerade:
            return new("masq")
        case .immediate(let register, let data):
            let e = new("immediate")
            u32(e, NFTNL_EXPR_IMM_DREG, register)
            bytes(e, NFTNL_EXPR_IMM_DATA, data)
            return e
        case .destinationNat(let family, let addressRegister, let portRegister):
            let e = new("nat")
            u32(e, NFTNL_EXPR_NAT_TYPE, UInt32(NFT_NAT_DNAT.rawValue))
            u32(e, NFTNL_EXPR_NAT_FAMILY, UInt32(family == .ipv4 ? NFPROTO_IPV4 : NFPROTO_IPV6))
            if let addressRegister { u32(e, NFTNL_EXPR_NAT_REG_ADDR_MIN, addressRegister) }
            if let portRegister {
                u32(e, NFTNL_EXPR_NAT_REG_PROTO_MIN, portRegister)
                u32(e, NFTNL_EXPR_NAT_FLAGS, Self.portSpecified)
            }
            return e
        case .redirect(let portRegister):
            let e = new("redir")
            if let portRegister {
                u32(e, NFTNL_EXPR_REDIR_REG_PROTO_MIN, portRegister)
                u32(e, NFTNL_EXPR_REDIR_FLAGS, Self.portSpecified)
            }
            return e
        case .unrecognized(let name):
            preconditionFailure("uplinkctl never writes an expression it does not know: \(name)")
        }
    }

    /// A kernel expression in the model's terms; anything else is `.unrecognized`.
    static func read(_ e: OpaquePointer) -> NftExpression {
        let name = String(cString: nftnl_expr_get_str(e, UInt16(NFTNL_EXPR_NAME)))
        func has(_ attribute: Int) -> Bool { nftnl_expr_is_set(e, UInt16(attribute)) }
        func u32(_ attribute: Int) -> UInt32 { nftnl_expr_get_u32(e, UInt16(attribute)) }
        func str(_ attribute: Int) -> String? { nftnl_expr_get_str(e, UInt16(attribute)).map { String(cString: $0) } }
        func bytes(_ attribute: Int) -> [UInt8] {
            var length: UInt32 = 0
            guard let data = nftnl_expr_get(e, UInt16(attribute), &length) else { return [] }
            return Array(UnsafeRawBufferPointer(start: data, count: Int(length)))
        }
        let unknown = NftExpression.unrecognized(name)
        switch name {
        case "meta":
            guard let key = NftMetaKey(rawValue: u32(NFTNL_EXPR_META_KEY)) else { return unknown }
            if has(NFTNL_EXPR_META_DREG) { return .metaLoad(key, register: u32(NFTNL_EXPR_META_DREG)) }
            if has(NFTNL_EXPR_META_SREG) { return .metaSet(key, register: u32(NFTNL_EXPR_META_SREG)) }
        case "ct":
            guard let key = NftConntrackKey(rawValue: u32(NFTNL_EXPR_CT_KEY)), !has(NFTNL_EXPR_CT_DIR) else {
                return unknown
            }
            if has(NFTNL_EXPR_CT_DREG) { return .conntrackLoad(key, register: u32(NFTNL_EXPR_CT_DREG)) }
            if has(NFTNL_EXPR_CT_SREG) { return .conntrackSet(key, register: u32(NFTNL_EXPR_CT_SREG)) }
        case "payload":
            guard let base = NftPayloadBase(rawValue: u32(NFTNL_EXPR_PAYLOAD_BASE)), has(NFTNL_EXPR_PAYLOAD_DREG) else {
                return unknown
            }
            return .payloadLoad(
                base, offset: u32(NFTNL_EXPR_PAYLOAD_OFFSET), length: u32(NFTNL_EXPR_PAYLOAD_LEN),
                register: u32(NFTNL_EXPR_PAYLOAD_DREG))
        case "byteorder":
            let register = u32(NFTNL_EXPR_BYTEORDER_SREG)
            guard u32(NFTNL_EXPR_BYTEORDER_DREG) == register,
                u32(NFTNL_EXPR_BYTEORDER_OP) == UInt32(NFT_BYTEORDER_HTON.rawValue)
            else { return unknown }
            return .hostToNetwork(
                register: register, length: u32(NFTNL_EXPR_BYTEORDER_LEN), size: u32(NFTNL_EXPR_BYTEORDER_SIZE))
        case "hash":
            guard u32(NFTNL_EXPR_HASH_TYPE) == UInt32(NFT_HASH_JENKINS.rawValue),
                !has(NFTNL_EXPR_HASH_OFFSET) || u32(NFTNL_EXPR_HASH_OFFSET) == 0
            else { return unknown }
            return .jenkinsHash(
                source: u32(NFTNL_EXPR_HASH_SREG), length: u32(NFTNL_EXPR_HASH_LEN),
                modulus: u32(NFTNL_EXPR_HASH_MODULUS),
                seed: u32(NFTNL_EXPR_HASH_SEED), register: u32(NFTNL_EXPR_HASH_DREG))
        case "exthdr":
            guard u32(NFTNL_EXPR_EXTHDR_OP) == Self.tcpOptionOperation, has(NFTNL_EXPR_EXTHDR_DREG),
                !has(NFTNL_EXPR_EXTHDR_SREG), u32(NFTNL_EXPR_EXTHDR_FLAGS) == 0
            else { return unknown }
            return .tcpOptionLoad(
                kind: nftnl_expr_get_u8(e, UInt16(NFTNL_EXPR_EXTHDR_TYPE)),
                offset: u32(NFTNL_EXPR_EXTHDR_OFFSET), length: u32(NFTNL_EXPR_EXTHDR_LEN),
                register: u32(NFTNL_EXPR_EXTHDR_DREG))
        case "cmp":
            guard let op = NftCompareOperator(rawValue: u32(NFTNL_EXPR_CMP_OP)) else { return unknown }
            return .compare(op, register: u32(NFTNL_EXPR_CMP_SREG), data: bytes(NFTNL_EXPR_CMP_DATA))
        case "bitwise":
            let register = u32(NFTNL_EXPR_BITWISE_SREG)
            guard u32(NFTNL_EXPR_BITWISE_DREG) == register,
                !has(NFTNL_EXPR_BITWISE_OP) || u32(NFTNL_EXPR_BITWISE_OP) == 0
            else { return unknown }
            return .bitwise(
                register: register, mask: bytes(NFTNL_EXPR_BITWISE_MASK), xor: bytes(NFTNL_EXPR_BITWISE_XOR))
        case "lookup":
            guard let set = str(NFTNL_EXPR_LOOKUP_SET),
                !has(NFTNL_EXPR_LOOKUP_FLAGS) || u32(NFTNL_EXPR_LOOKUP_FLAGS) == 0
            else { return unknown }
            if has(NFTNL_EXPR_LOOKUP_DREG) && u32(NFTNL_EXPR_LOOKUP_DREG) != UInt32(NFT_REG_VERDICT.rawValue) {
                return unknown
            }
            return .lookup(
                set: set, register: u32(NFTNL_EXPR_LOOKUP_SREG), verdictRegister: has(NFTNL_EXPR_LOOKUP_DREG))
        case "immediate" where u32(NFTNL_EXPR_IMM_DREG) != UInt32(NFT_REG_VERDICT.rawValue):
            guard has(NFTNL_EXPR_IMM_DATA) else { return unknown }
            return .immediate(register: u32(NFTNL_EXPR_IMM_DREG), data: bytes(NFTNL_EXPR_IMM_DATA))
        case "nat":
            // The kernel lists the maximum registers equal to the minimum ones, and adds
            // NF_NAT_RANGE_MAP_IPS (1) to the flags for an address register.
            let family = u32(NFTNL_EXPR_NAT_FAMILY)
            func single(_ min: Int, _ max: Int) -> Bool { !has(max) || (has(min) && u32(max) == u32(min)) }
            guard u32(NFTNL_EXPR_NAT_TYPE) == UInt32(NFT_NAT_DNAT.rawValue),
                family == NFPROTO_IPV4 || family == NFPROTO_IPV6,
                single(NFTNL_EXPR_NAT_REG_ADDR_MIN, NFTNL_EXPR_NAT_REG_ADDR_MAX),
                single(NFTNL_EXPR_NAT_REG_PROTO_MIN, NFTNL_EXPR_NAT_REG_PROTO_MAX),
                (u32(NFTNL_EXPR_NAT_FLAGS) & ~(Self.portSpecified | 1)) == 0
            else { return unknown }
            return .destinationNat(
                family == NFPROTO_IPV4 ? .ipv4 : .ipv6,
                addressRegister: has(NFTNL_EXPR_NAT_REG_ADDR_MIN) ? u32(NFTNL_EXPR_NAT_REG_ADDR_MIN) : nil,
                portRegister: has(NFTNL_EXPR_NAT_REG_PROTO_MIN) ? u32(NFTNL_EXPR_NAT_REG_PROTO_MIN) : nil)
        case "redir":
            let maximum = NFTNL_EXPR_REDIR_REG_PROTO_MAX
            guard !has(maximum) || u32(maximum) == u32(NFTNL_EXPR_REDIR_REG_PROTO_MIN),
                (u32(NFTNL_EXPR_REDIR_FLAGS) & ~Self.portSpecified) == 0
            else { return unknown }
            return .redirect(
                portRegister: has(NFTNL_EXPR_REDIR_REG_PROTO_MIN) ? u32(NFTNL_EXPR_REDIR_REG_PROTO_MIN) : nil)
        case "immediate":
            guard u32(NFTNL_EXPR_IMM_DREG) == UInt32(NFT_REG_VERDICT.rawValue),
                let verdict = NftVerdict(
                    code: Int32(bitPattern: u32(NFTNL_EXPR_IMM_VERDICT)),
                    chain: str(NFTNL_EXPR_IMM_CHAIN))
            else { return unknown }
            return .verdict(verdict)
        case "fib":
            switch (u32(NFTNL_EXPR_FIB_RESULT), u32(NFTNL_EXPR_FIB_FLAGS)) {
            case (UInt32(NFT_FIB_RESULT_ADDRTYPE.rawValue), UInt32(NFTA_FIB_F_DADDR.rawValue)):
                return .fibDestinationType(register: u32(NFTNL_EXPR_FIB_DREG))
            case (UInt32(NFT_FIB_RESULT_OIFNAME.rawValue), Self.routeLookupFlags):
                return .fibRouteInterfaceName(register: u32(NFTNL_EXPR_FIB_DREG))
            default:
                return unknown
            }
        case "numgen":
            guard !has(NFTNL_EXPR_NG_OFFSET) || u32(NFTNL_EXPR_NG_OFFSET) == 0 else { return unknown }
            let generator: NumberGenerator =
                u32(NFTNL_EXPR_NG_TYPE) == UInt32(NFT_NG_INCREMENTAL.rawValue) ? .inc : .random
            return .numberGenerator(generator, modulus: u32(NFTNL_EXPR_NG_MODULUS), register: u32(NFTNL_EXPR_NG_DREG))
        case "rt":
            guard u32(NFTNL_EXPR_RT_KEY) == UInt32(NFT_RT_CLASSID.rawValue) else { return unknown }
            return .routeRealmLoad(register: u32(NFTNL_EXPR_RT_DREG))
        case "objref":
            guard has(NFTNL_EXPR_OBJREF_IMM_NAME), let objectName = str(NFTNL_EXPR_OBJREF_IMM_NAME) else {
                return unknown
            }
            return .objectReference(type: u32(NFTNL_EXPR_OBJREF_IMM_TYPE), name: objectName)
        case "masq":
            return has(NFTNL_EXPR_MASQ_FLAGS) && u32(NFTNL_EXPR_MASQ_FLAGS) != 0 ? unknown : .masquerade
        default:
            break
        }
        return unknown
    }
}
