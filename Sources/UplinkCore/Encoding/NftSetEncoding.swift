/// Sets and verdict maps (`NftMapEncoding`) as the kernel keeps them: the definition and the
/// elements nft(8) writes for the same text.
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
    static let verdictDataType: UInt32 = 0xffff_ff00

    // MARK: Sets

    public static func definition(_ set: NftSet) -> NftSetDefinition {
        switch set.type {
        case .ipv4Prefixes:
            return NftSetDefinition(
                name: set.name, flags: intervalFlag, keyType: ipv4AddressType, keyLength: 4,
                dataType: nil, userdata: NftUserdata.keyByteOrder(.bigEndian))
        case .ipv6Prefixes:
            return NftSetDefinition(
                name: set.name, flags: intervalFlag, keyType: ipv6AddressType, keyLength: 16,
                dataType: nil, userdata: NftUserdata.keyByteOrder(.bigEndian))
        case .interfaceNames:
            return NftSetDefinition(
                name: set.name, flags: 0, keyType: interfaceNameType, keyLength: 16, dataType: nil,
                userdata: NftUserdata.keyByteOrder(.host))
        case .routeInterfaceNames:
            return NftSetDefinition(
                name: set.name, flags: 0, keyType: stringType, keyLength: 16, dataType: nil,
                userdata: NftUserdata.routeInterfaceNameSet)
        }
    }

    /// Interval sets hold ranges as nft's boundary elements (`NftIntervalEncoding`).
    public static func elements(_ set: NftSet) -> [NftSetElement] {
        switch set.type {
        case .interfaceNames, .routeInterfaceNames:
            return set.interfaceNames.map { NftSetElement(key: NftRuleEncoding.interfaceName($0)) }
        case .ipv4Prefixes, .ipv6Prefixes:
            let intervals = AddressRange.merged(set.prefixes).map {
                NftIntervalEncoding.Interval(first: $0.first, last: $0.last, verdict: nil)
            }
            return NftIntervalEncoding.elements(intervals, startingEmpty: true)
        }
    }

    /// A set read back from the kernel, or nil when it is not one uplinkctl writes.
    public static func set(_ definition: NftSetDefinition, elements: [NftSetElement]) -> NftSet? {
        guard definition.fieldLengths.isEmpty, elements.allSatisfy({ $0.keyEnd == nil }) else { return nil }
        switch (definition.flags, definition.keyType, definition.keyLength, definition.dataType) {
        case (intervalFlag, ipv4AddressType, 4, nil), (intervalFlag, ipv6AddressType, 16, nil):
            let type: NftSet.ElementType = definition.keyType == ipv4AddressType ? .ipv4Prefixes : .ipv6Prefixes
            guard let intervals = NftIntervalEncoding.intervals(elements),
                intervals.allSatisfy({ $0.verdict == nil })
            else { return nil }
            let prefixes = intervals.flatMap { AddressRange(first: $0.first, last: $0.last).prefixes }
            return NftSet(name: definition.name, type: type, elements: prefixes.map(NftSet.Element.prefix))
        case (0, interfaceNameType, 16, nil), (0, stringType, 16, nil):
            let type: NftSet.ElementType =
                definition.keyType == interfaceNameType
                ? .interfaceNames : .routeInterfaceNames
            let names = elements.map { String(decoding: $0.key.prefix { $0 != 0 }, as: UTF8.self) }
            let set = NftSet(name: definition.name, type: type, elements: names.map(NftSet.Element.interfaceName))
            // Only what we would write reads back as ours: exact names, nft's userdata.
            guard elements.allSatisfy({ !$0.intervalEnd && $0.verdict == nil && $0.userdata == nil }),
                names.count == set.elements.count,
                zip(names, elements).allSatisfy({ NftRuleEncoding.interfaceName($0) == $1.key }),
                definition == Self.definition(set)
            else { return nil }
            return set
        default:
            return nil
        }
    }
}
