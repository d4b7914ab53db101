/// One nf_tables expression as the kernel runs it: the register-level form of a rule, the same
/// words `nft --debug=netlink` prints. Rules are encoded into these and decoded back from them,
/// so what we compare with the kernel is exactly what the kernel holds.
public enum NftExpression: Sendable, Hashable {
    case metaLoad(NftMetaKey, register: UInt32)
    case metaSet(NftMetaKey, register: UInt32)
    case conntrackLoad(NftConntrackKey, register: UInt32)
    case conntrackSet(NftConntrackKey, register: UInt32)
    /// Load `length` bytes at `offset` of the network or transport header.
    case payloadLoad(NftPayloadBase, offset: UInt32, length: UInt32, register: UInt32)
    /// Load `length` bytes at `offset` of the TCP option of this kind (exthdr, NFT_EXTHDR_OP_TCPOPT);
    /// without the option the rule does not match.
    case tcpOptionLoad(kind: UInt8, offset: UInt32, length: UInt32, register: UInt32)
    case compare(NftCompareOperator, register: UInt32, data: [UInt8])
    /// register = (register & mask) ^ xor
    case bitwise(register: UInt32, mask: [UInt8], xor: [UInt8])
    /// Host to network order in place, in units of `size` bytes over `length` bytes. nft puts one
    /// after `meta l4proto` in a concatenated interval key; with size 2 over 1 byte it changes nothing.
    case hostToNetwork(register: UInt32, length: UInt32, size: UInt32)
    /// register = jhash(`length` bytes from `source`, seed) % modulus.
    case jenkinsHash(source: UInt32, length: UInt32, modulus: UInt32, seed: UInt32, register: UInt32)
    /// Look the register up in a set; with a destination register 0 the element's verdict is followed.
    case lookup(set: String, register: UInt32, verdictRegister: Bool)
    case verdict(NftVerdict)
    /// `fib daddr type`: the address type of the destination (RTN_LOCAL, ...).
    case fibDestinationType(register: UInt32)
    /// `fib daddr . mark oifname`: the name of the interface a route lookup by the packet's
    /// destination and mark leaves by (empty when there is no route).
    case fibRouteInterfaceName(register: UInt32)
    case numberGenerator(NumberGenerator, modulus: UInt32, register: UInt32)
    /// `rt classid`: the realm of the packet's route.
    case routeRealmLoad(register: UInt32)
    /// A named stateful object; type 1 is a counter.
    case objectReference(type: UInt32, name: String)
    case masquerade
    /// A constant into a data register (addresses and ports of a NAT statement).
    case immediate(register: UInt32, data: [UInt8])
    /// `nat dnat`: the destination from `addressRegister` and `portRegister`; flags 0x2 when a port is given.
    case destinationNat(IPFamily, addressRegister: UInt32?, portRegister: UInt32?)
    /// `redir`: to this host, to the port in `portRegister` when given.
    case redirect(portRegister: UInt32?)
    /// An expression outside uplinkctl's vocabulary, by its kernel name: never ours to write.
    case unrecognized(String)
}

/// `meta` keys, with the kernel's numbers (NFT_META_*).
public enum NftMetaKey: UInt32, Sendable, Hashable {
    case mark = 3
    case inputInterfaceName = 6
    case outputInterfaceName = 7
    case nfproto = 15
    case l4proto = 16

    var text: String {
        switch self {
        case .mark: return "mark"
        case .inputInterfaceName: return "iifname"
        case .outputInterfaceName: return "oifname"
        case .nfproto: return "nfproto"
        case .l4proto: return "l4proto"
        }
    }
}

/// Where a payload load counts its offset from (NFT_PAYLOAD_*_HEADER).
public enum NftPayloadBase: UInt32, Sendable, Hashable {
    case network = 1
    case transport = 2

    var text: String { self == .network ? "network header" : "transport header" }
}

/// `ct` keys (NFT_CT_*).
public enum NftConntrackKey: UInt32, Sendable, Hashable {
    case state = 0
    case status = 2
    case mark = 3

    var text: String {
        switch self {
        case .state: return "state"
        case .mark: return "mark"
        case .status: return "status"
        }
    }
}

/// NFT_CMP_*.
public enum NftCompareOperator: UInt32, Sendable, Hashable {
    case equal = 0
    case notEqual = 1
    case lessOrEqual = 3
    case greaterOrEqual = 5

    var text: String {
        switch self {
        case .equal: return "eq"
        case .notEqual: return "neq"
        case .lessOrEqual: return "lte"
        case .greaterOrEqual: return "gte"
        }
    }
}

/// A verdict as the kernel numbers it: in an `immediate` expression into the verdict register,
/// and in a verdict map's element.
extension NftVerdict {
    /// NFT_JUMP, NFT_GOTO, NFT_RETURN, NF_DROP.
    public var code: Int32 {
        switch self {
        case .jump: return -3
        case .goto: return -4
        case .return: return -5
        case .drop: return 0
        }
    }

    public init?(code: Int32, chain: String?) {
        switch (code, chain) {
        case (-3, let chain?): self = .jump(chain)
        case (-4, let chain?): self = .goto(chain)
        case (-5, nil): self = .return
        case (0, nil): self = .drop
        default: return nil
        }
    }
}

extension NftExpression: CustomStringConvertible {
    /// The `nft --debug=netlink` form, so encodings can be checked against nft's own output.
    public var description: String {
        switch self {
        case .metaLoad(let key, let register): return "[ meta load \(key.text) => reg \(register) ]"
        case .metaSet(let key, let register): return "[ meta set \(key.text) with reg \(register) ]"
        case .conntrackLoad(let key, let register): return "[ ct load \(key.text) => reg \(register) ]"
        case .conntrackSet(let key, let register): return "[ ct set \(key.text) with reg \(register) ]"
        case .payloadLoad(let base, let offset, let length, let register):
            return "[ payload load \(length)b @ \(base.text) + \(offset) => reg \(register) ]"
        case .tcpOptionLoad(let kind, let offset, let length, let register):
            return "[ exthdr load tcpopt \(length)b @ \(kind) + \(offset) => reg \(register) ]"
        case .compare(let op, let register, let data):
            return "[ cmp \(op.text) reg \(register) \(Self.words(data)) ]"
        case .bitwise(let register, let mask, let xor):
            return "[ bitwise reg \(register) = ( reg \(register) & \(Self.words(mask)) ) ^ \(Self.words(xor)) ]"
        case .hostToNetwork(let register, let length, let size):
            return "[ byteorder reg \(register) = hton(reg \(register), \(size), \(length)) ]"
        case .jenkinsHash(let source, let length, let modulus, let seed, let register):
            return
                "[ hash reg \(register) = jhash(reg \(source), \(length), "
                + "0x\(String(seed, radix: 16).leftPadded(to: 8))) % mod \(modulus) ]"
        case .lookup(let set, let register, let verdictRegister):
            return "[ lookup reg \(register) set \(set)\(verdictRegister ? " dreg 0" : "") ]"
        case .verdict(let code):
            switch code {
            case .jump(let chain): return "[ immediate reg 0 jump -> \(chain) ]"
            case .goto(let chain): return "[ immediate reg 0 goto -> \(chain) ]"
            case .return: return "[ immediate reg 0 return ]"
            case .drop: return "[ immediate reg 0 drop ]"
            }
        case .fibDestinationType(let register): return "[ fib daddr type => reg \(register) ]"
        case .fibRouteInterfaceName(let register): return "[ fib daddr . mark oifname => reg \(register) ]"
        case .numberGenerator(let generator, let modulus, let register):
            return "[ numgen reg \(register) = \(generator.rawValue) mod \(modulus) ]"
        case .routeRealmLoad(let register): return "[ rt load classid => reg \(register) ]"
        case .objectReference(let type, let name): return "[ objref type \(type) name \(name) ]"
        case .masquerade: return "[ masq ]"
        case .immediate(let register, let data): return "[ immediate reg \(register) \(Self.words(data)) ]"
        case .destinationNat(let family, let addressRegister, let portRegister):
            let address = addressRegister.map { " addr_min reg \($0)" } ?? ""
            let port = portRegister.map { " proto_min reg \($0) flags 0x2" } ?? ""
            return "[ nat dnat \(family == .ipv4 ? "ip" : "ip6")\(address)\(port) ]"
        case .redirect(let portRegister):
            return portRegister.map { "[ redir proto_min reg \($0) flags 0x2 ]" } ?? "[ redir ]"
        case .unrecognized(let name): return "[ \(name) ]"
        }
    }

    /// Data as nft prints it: 32-bit words read in host order, the last zero-padded.
    static func words(_ bytes: [UInt8]) -> String {
        stride(from: 0, to: bytes.count, by: 4).map { start in
            let chunk = Array(bytes[start..<min(start + 4, bytes.count)])
            let word = (chunk + [UInt8](repeating: 0, count: 4 - chunk.count)).withUnsafeBytes {
                $0.loadUnaligned(as: UInt32.self)
            }
            return "0x" + String(word, radix: 16).leftPadded(to: 8)
        }.joined(separator: " ")
    }
}

extension String {
    func leftPadded(to width: Int, with pad: Character = "0") -> String {
        count >= width ? self : String(repeating: pad, count: width - count) + self
    }
}
