/// nft's userdata on sets and elements (libnftnl's NFTNL_UDATA_SET_* TLVs: one byte type, one
/// byte length, the value). The kernel stores it untouched; nft reads it to print `typeof`,
/// byte order and open intervals, so we write what nft writes.
enum NftUserdata {
    enum ByteOrder: UInt32 {
        /// What nft writes for one-byte types (inet_proto) and for concatenations.
        case none = 0
        case host = 1
        case bigEndian = 2
    }

    // NFTNL_UDATA_SET_*
    static let keyByteOrderType: UInt8 = 0
    static let dataByteOrderType: UInt8 = 1
    static let keyTypeofType: UInt8 = 3
    static let dataTypeofType: UInt8 = 4
    static let dataIntervalType: UInt8 = 6
    // nft's expression type numbers inside typeof.
    static let conntrackExpression: UInt32 = 12
    static let metaExpression: UInt32 = 9
    static let numberGeneratorExpression: UInt32 = 23
    static let hashExpression: UInt32 = 24
    static let concatenationExpression: UInt32 = 13
    static let verdictExpression: UInt32 = 1
    static let routeExpression: UInt32 = 25
    static let fibExpression: UInt32 = 26
    /// NFT_FIB_RESULT_OIFNAME, and NFTA_FIB_F_DADDR | NFTA_FIB_F_MARK.
    static let fibInterfaceNameResult: UInt32 = 2
    static let fibDestinationAndMark: UInt32 = 0x6
    /// NFT_RT_CLASSID.
    static let routeRealmKey: UInt32 = 0
    /// NFT_HASH_SYM.
    static let symmetricHash: UInt32 = 1

    static func tlv(_ type: UInt8, _ value: [UInt8]) -> [UInt8] { [type, UInt8(value.count)] + value }
    static func tlv(_ type: UInt8, u32 value: UInt32) -> [UInt8] { tlv(type, NftRuleEncoding.word(value)) }

    static func keyByteOrder(_ order: ByteOrder) -> [UInt8] { tlv(keyByteOrderType, u32: order.rawValue) }

    /// A set declared `typeof fib daddr . mark oifname`.
    static let routeInterfaceNameSet =
        keyByteOrder(.host)
        + tlv(
            keyTypeofType,
            tlv(0, u32: fibExpression)
                + tlv(1, tlv(0, u32: fibInterfaceNameResult) + tlv(1, u32: fibDestinationAndMark)))

    /// NFTNL_UDATA_SET_ELEM_FLAGS = NFTNL_SET_ELEM_F_INTERVAL_OPEN.
    static let openInterval: [UInt8] = tlv(1, u32: 1)

    static func verdictMap(keyedBy typeof: NftMapKey) -> [UInt8] {
        switch typeof {
        case .connectionMark, .packetMark, .numberGenerator, .addressHash, .routeRealm:
            return keyByteOrder(.host)
                + tlv(dataByteOrderType, u32: 0)
                + tlv(keyTypeofType, expression(typeof))
                + tlv(dataTypeofType, tlv(0, u32: verdictExpression) + tlv(1, []))
                + tlv(dataIntervalType, u32: 0)
        case .fields(let fields) where fields.count == 1:
            // Declared with `type`: no typeof, only the key's byte order.
            return keyByteOrder(byteOrder(fields[0])) + tlv(dataByteOrderType, u32: 0) + tlv(dataIntervalType, u32: 0)
        case .fields:
            // A `type A . B` concatenation: nft records an empty concatenation as its typeof.
            return keyByteOrder(.none) + tlv(dataByteOrderType, u32: 0)
                + tlv(keyTypeofType, tlv(0, u32: concatenationExpression) + tlv(1, []))
                + tlv(dataIntervalType, u32: 0)
        }
    }

    static func byteOrder(_ field: NftField) -> ByteOrder {
        switch field {
        case .inputInterfaceName: return .host
        case .source, .destination, .sourcePort, .destinationPort: return .bigEndian
        case .transportProtocol: return .none
        }
    }

    /// An expression inside typeof: its type, then its own fields.
    static func expression(_ typeof: NftMapKey) -> [UInt8] {
        switch typeof {
        case .connectionMark:
            // ct key mark, no direction.
            return tlv(0, u32: conntrackExpression)
                + tlv(1, tlv(0, u32: NftConntrackKey.mark.rawValue) + tlv(1, u32: .max))
        case .packetMark:
            return tlv(0, u32: metaExpression) + tlv(1, tlv(0, u32: NftMetaKey.mark.rawValue))
        case .numberGenerator(let generator, let modulus):
            return tlv(0, u32: numberGeneratorExpression)
                + tlv(1, tlv(0, u32: generator == .inc ? 0 : 1) + tlv(1, u32: modulus) + tlv(2, u32: 0))
        case .addressHash(_, let modulus, _):
            // nft 1.0.6 crashes listing `typeof jhash ...` (it prints the hash's absent operand),
            // so the map is declared `typeof symhash mod N`: the same 32-bit slot numbers.
            return tlv(0, u32: hashExpression)
                + tlv(
                    1,
                    tlv(0, u32: symmetricHash) + tlv(1, u32: 0) + tlv(2, u32: modulus) + tlv(3, u32: 0) + tlv(4, u32: 0)
                )
        case .routeRealm:
            return tlv(0, u32: routeExpression) + tlv(1, tlv(0, u32: routeRealmKey))
        case .fields:
            preconditionFailure("maps keyed by packet fields are declared by type")
        }
    }

    /// The key a map's typeof names, when it is one uplinkctl writes and names it whole: a mark,
    /// `numgen` or `rt classid` (a hash's typeof has no family or seed, and packet fields none).
    static func mapKey(_ userdata: [UInt8]) -> NftMapKey? {
        for key in [NftMapKey.connectionMark, .packetMark, .routeRealm] where verdictMap(keyedBy: key) == userdata {
            return key
        }
        guard let key = field(keyTypeofType, in: userdata), let nested = field(1, in: key),
            let generator = field(0, in: nested).flatMap(NftRuleDecoding.Reader.value),
            let modulus = field(1, in: nested).flatMap(NftRuleDecoding.Reader.value)
        else { return nil }
        let typeof = NftMapKey.numberGenerator(generator == 0 ? .inc : .random, modulus: modulus)
        return verdictMap(keyedBy: typeof) == userdata ? typeof : nil
    }

    static func field(_ type: UInt8, in bytes: [UInt8]) -> [UInt8]? {
        var index = 0
        while index + 2 <= bytes.count {
            let length = Int(bytes[index + 1])
            guard index + 2 + length <= bytes.count else { return nil }
            if bytes[index] == type { return Array(bytes[(index + 2)..<(index + 2 + length)]) }
            index += 2 + length
        }
        return nil
    }
}
