/// A named set or verdict map as the kernel keeps it (NFTA_SET_*), and its elements
/// (NFTA_SET_ELEM_*): the same attributes nft(8) sends for the same text, userdata included,
/// so that `nft list` shows our table as the dry-run wrote it.
public struct NftSetDefinition: Sendable, Hashable {
    public var name: String
    public var flags: UInt32
    public var keyType: UInt32
    public var keyLength: UInt32
    /// Verdict maps: NFT_DATA_VERDICT.
    public var dataType: UInt32?
    public var userdata: [UInt8]
    /// A concatenation with ranges (NFTA_SET_DESC_CONCAT): each field's length, unpadded.
    public var fieldLengths: [UInt8]

    public init(name: String, flags: UInt32, keyType: UInt32, keyLength: UInt32, dataType: UInt32?, userdata: [UInt8], fieldLengths: [UInt8] = []) {
        self.name = name
        self.flags = flags
        self.keyType = keyType
        self.keyLength = keyLength
        self.dataType = dataType
        self.userdata = userdata
        self.fieldLengths = fieldLengths
    }
}

public struct NftSetElement: Sendable, Hashable {
    public var key: [UInt8]
    /// The last key of a concatenated range (NFTA_SET_ELEM_KEY_END), inclusive.
    public var keyEnd: [UInt8]?
    /// An interval set's element that ends the range before it (NFT_SET_ELEM_INTERVAL_END).
    public var intervalEnd: Bool
    public var verdict: NftVerdictCode?
    public var userdata: [UInt8]?

    public init(key: [UInt8], keyEnd: [UInt8]? = nil, intervalEnd: Bool = false, verdict: NftVerdictCode? = nil, userdata: [UInt8]? = nil) {
        self.key = key
        self.keyEnd = keyEnd
        self.intervalEnd = intervalEnd
        self.verdict = verdict
        self.userdata = userdata
    }
}

public enum NftSetEncoding {
    // NFT_SET_* flags.
    static let intervalFlag: UInt32 = 0x4
    static let mapFlag: UInt32 = 0x8
    static let concatenationFlag: UInt32 = 0x80
    // nft's datatype numbers.
    static let ipv4AddressType: UInt32 = 7
    static let ipv6AddressType: UInt32 = 8
    static let integerType: UInt32 = 4
    static let markType: UInt32 = 19
    static let realmType: UInt32 = 22
    static let interfaceNameType: UInt32 = 41
    static let stringType: UInt32 = 5
    static let protocolType: UInt32 = 12
    static let serviceType: UInt32 = 13
    /// NFT_DATA_VERDICT.
    public static let verdictDataType: UInt32 = 0xffff_ff00

    // MARK: Sets

    public static func definition(_ set: NftSet) -> NftSetDefinition {
        switch set.type {
        case .ipv4Prefixes:
            return NftSetDefinition(name: set.name, flags: intervalFlag, keyType: ipv4AddressType, keyLength: 4, dataType: nil,
                                    userdata: NftUserdata.keyByteOrder(.bigEndian))
        case .ipv6Prefixes:
            return NftSetDefinition(name: set.name, flags: intervalFlag, keyType: ipv6AddressType, keyLength: 16, dataType: nil,
                                    userdata: NftUserdata.keyByteOrder(.bigEndian))
        case .interfaceNames:
            return NftSetDefinition(name: set.name, flags: 0, keyType: interfaceNameType, keyLength: 16, dataType: nil,
                                    userdata: NftUserdata.keyByteOrder(.host))
        case .routeInterfaceNames:
            return NftSetDefinition(name: set.name, flags: 0, keyType: stringType, keyLength: 16, dataType: nil,
                                    userdata: NftUserdata.routeInterfaceNameSet)
        }
    }

    /// Interval sets hold ranges as boundaries, the way nft writes them: a start element, and an
    /// end element one past the range's last address; a leading end element at the zero address;
    /// a range that runs to the last address has no end, and says so in its userdata.
    public static func elements(_ set: NftSet) -> [NftSetElement] {
        switch set.type {
        case .interfaceNames, .routeInterfaceNames:
            return set.interfaceNames.map { NftSetElement(key: NftRuleEncoding.interfaceName($0)) }
        case .ipv4Prefixes, .ipv6Prefixes:
            let ranges = AddressRange.merged(set.prefixes)
            guard let firstRange = ranges.first else { return [] }
            var result: [NftSetElement] = []
            if firstRange.first.contains(where: { $0 != 0 }) {
                result.append(NftSetElement(key: [UInt8](repeating: 0, count: firstRange.first.count), intervalEnd: true))
            }
            for range in ranges {
                if let end = AddressRange.increment(range.last) {
                    result += [NftSetElement(key: range.first), NftSetElement(key: end, intervalEnd: true)]
                } else {
                    result.append(NftSetElement(key: range.first, userdata: NftUserdata.openInterval))
                }
            }
            return result
        }
    }

    /// A set read back from the kernel, or nil when it is not one uplinkctl writes.
    public static func set(_ definition: NftSetDefinition, elements: [NftSetElement]) -> NftSet? {
        guard definition.fieldLengths.isEmpty, elements.allSatisfy({ $0.keyEnd == nil }) else { return nil }
        switch (definition.flags, definition.keyType, definition.keyLength, definition.dataType) {
        case (intervalFlag, ipv4AddressType, 4, nil), (intervalFlag, ipv6AddressType, 16, nil):
            let type: NftSet.ElementType = definition.keyType == ipv4AddressType ? .ipv4Prefixes : .ipv6Prefixes
            guard let ranges = ranges(elements) else { return nil }
            let prefixes = ranges.flatMap(\.prefixes)
            return NftSet(name: definition.name, type: type, elements: prefixes.map(NftSet.Element.prefix))
        case (0, interfaceNameType, 16, nil), (0, stringType, 16, nil):
            let type: NftSet.ElementType = definition.keyType == interfaceNameType ? .interfaceNames : .routeInterfaceNames
            let names = elements.map { String(decoding: $0.key.prefix { $0 != 0 }, as: UTF8.self) }
            let set = NftSet(name: definition.name, type: type, elements: names.map(NftSet.Element.interfaceName))
            // Only what we would write reads back as ours: exact names, nft's userdata.
            guard elements.allSatisfy({ !$0.intervalEnd && $0.verdict == nil && $0.userdata == nil }),
                  names.count == set.elements.count,
                  zip(names, elements).allSatisfy({ NftRuleEncoding.interfaceName($0) == $1.key }),
                  definition == Self.definition(set) else { return nil }
            return set
        default:
            return nil
        }
    }

    /// Boundaries back into ranges: each start element runs to one before the next end element.
    static func ranges(_ elements: [NftSetElement]) -> [AddressRange]? {
        let sorted = elements.sorted { ($0.key.lexicographicallyPrecedes($1.key)) || ($0.key == $1.key && $0.intervalEnd && !$1.intervalEnd) }
        var result: [AddressRange] = []
        var open: [UInt8]?
        for element in sorted {
            if element.intervalEnd {
                guard let start = open else {
                    // Only nft's leading end at the zero address stands alone.
                    if element.key.allSatisfy({ $0 == 0 }) { continue } else { return nil }
                }
                guard let last = AddressRange.decrement(element.key) else { return nil }
                result.append(AddressRange(first: start, last: last))
                open = nil
            } else {
                if open != nil { return nil }
                open = element.key
            }
        }
        if let start = open { result.append(AddressRange(first: start, last: [UInt8](repeating: 0xff, count: start.count))) }
        return result
    }
}
