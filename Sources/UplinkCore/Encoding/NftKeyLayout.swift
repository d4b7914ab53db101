/// Where each field of a (concatenated) key sits, in the registers and in an element's key:
/// every field starts on a 4-byte boundary, its value in network order, padded with zeros.
struct NftKeyLayout: Sendable, Hashable {
    let fields: [NftField]
    /// The byte offset of each field in the key.
    let offsets: [Int]
    /// All fields, padded.
    let length: Int
    /// The register each field is loaded into.
    let registers: [UInt32]

    /// `firstIndex`: the 4-byte register the key starts in (0 is register 1).
    init(fields: [NftField], firstIndex: Int = 0) {
        self.fields = fields
        var offsets: [Int] = []
        var length = 0
        for field in fields {
            offsets.append(length)
            length += Self.padded(field.byteLength)
        }
        self.offsets = offsets
        self.length = length
        registers = offsets.map { Self.register(index: firstIndex + $0 / 4) }
    }

    var isConcatenation: Bool { fields.count > 1 }
    /// A concatenation with a range in it: the kernel's pipapo set, elements with key and key end.
    var isConcatenatedInterval: Bool { isConcatenation && fields.contains { $0.isRange } }

    static func padded(_ length: Int) -> Int { (length + 3) / 4 * 4 }

    /// nft names a 16-byte-aligned place by its 16-byte register (NFT_REG_1...), any other by
    /// its 4-byte register (NFT_REG32_00 = 8...).
    static func register(index: Int) -> UInt32 {
        index % 4 == 0 ? UInt32(1 + index / 4) : UInt32(8 + index)
    }
}

extension NftField {
    /// The value's own length in bytes, before padding.
    var byteLength: Int {
        switch self {
        case .inputInterfaceName: return 16
        case .source(let family), .destination(let family): return family.bitCount / 8
        case .transportProtocol: return 1
        case .sourcePort, .destinationPort: return 2
        }
    }

    var family: IPFamily? {
        switch self {
        case .source(let family), .destination(let family): return family
        default: return nil
        }
    }
}
