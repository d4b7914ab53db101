/// Verdict maps as the kernel keeps them, the way nft 1.0.6 writes the same text:
/// - numeric keys (`typeof ct mark`, `numgen`, the jhash slots): 4-byte host-order keys;
/// - one packet field: its bytes; an address field makes an interval map with nft's
///   boundary elements (`NftIntervalEncoding`), one start and end per element;
/// - several fields: each padded to 4 bytes; with a range among them the kernel's pipapo set
///   (NFT_SET_CONCAT, the field lengths in NFTA_SET_DESC), every element a key and a key end.
public enum NftMapEncoding {
    public static func definition(_ map: NftVerdictMap) -> NftSetDefinition {
        let userdata = NftUserdata.verdictMap(keyedBy: map.typeof)
        let verdicts = NftSetEncoding.verdictDataType
        guard case .fields(let fields) = map.typeof else {
            let keyType =
                map.typeof.isMark
                ? NftSetEncoding.markType
                : map.typeof == .routeRealm ? NftSetEncoding.realmType : NftSetEncoding.integerType
            return NftSetDefinition(
                name: map.name, flags: NftSetEncoding.mapFlag, keyType: keyType, keyLength: 4,
                dataType: verdicts, userdata: userdata)
        }
        let layout = NftKeyLayout(fields: fields)
        let keyType = fields.reduce(UInt32(0)) { $0 << 6 | dataType($1) }
        let keyLength = layout.isConcatenation ? layout.length : fields[0].byteLength
        var flags = NftSetEncoding.mapFlag
        if map.isInterval { flags |= NftSetEncoding.intervalFlag }
        if layout.isConcatenatedInterval { flags |= NftSetEncoding.concatenationFlag }
        let fieldLengths = layout.isConcatenatedInterval ? fields.map { UInt8($0.byteLength) } : []
        return NftSetDefinition(
            name: map.name, flags: flags, keyType: keyType, keyLength: UInt32(keyLength),
            dataType: verdicts, userdata: userdata, fieldLengths: fieldLengths)
    }

    /// nft's datatype numbers, six bits each in a concatenation's key type.
    static func dataType(_ field: NftField) -> UInt32 {
        switch field {
        case .inputInterfaceName: return NftSetEncoding.interfaceNameType
        case .source(.ipv4), .destination(.ipv4): return NftSetEncoding.ipv4AddressType
        case .source(.ipv6), .destination(.ipv6): return NftSetEncoding.ipv6AddressType
        case .transportProtocol: return NftSetEncoding.protocolType
        case .sourcePort, .destinationPort: return NftSetEncoding.serviceType
        }
    }

    /// `startingEmpty`: a new map. nft begins a new interval map with an end element at the
    /// zero address; elements added to or deleted from an existing map go without it.
    /// Deleted elements carry no verdict, as nft sends them.
    public static func elements(_ map: NftVerdictMap, startingEmpty: Bool = true, withVerdicts: Bool = true)
        -> [NftSetElement]
    {
        func verdict(_ element: NftVerdictMap.Element) -> NftVerdict? { withVerdicts ? element.verdict : nil }
        guard case .fields(let fields) = map.typeof else {
            // A number (its only field value) as a host-order word.
            return map.elements.map { NftSetElement(key: $0.key.flatMap { bytes($0).first }, verdict: verdict($0)) }
        }
        let layout = NftKeyLayout(fields: fields)
        if layout.isConcatenation {
            return map.elements.map { element in
                let bounds = element.key.map(bytes)
                let key = bounds.flatMap { padded($0.first) }
                return NftSetElement(
                    key: key, keyEnd: layout.isConcatenatedInterval ? bounds.flatMap { padded($0.last) } : nil,
                    verdict: verdict(element))
            }
        }
        guard map.isInterval else {
            return map.elements.map { NftSetElement(key: bytes($0.key[0]).first, verdict: verdict($0)) }
        }
        let intervals = map.elements.map { element in
            let bounds = bytes(element.key[0])
            return NftIntervalEncoding.Interval(first: bounds.first, last: bounds.last, verdict: verdict(element))
        }
        return NftIntervalEncoding.elements(intervals, startingEmpty: startingEmpty)
    }

    /// A field's value as the first and last key bytes it covers, unpadded, in network order.
    static func bytes(_ value: NftFieldValue) -> (first: [UInt8], last: [UInt8]) {
        switch value {
        case .number(let number): return (NftRuleEncoding.word(number), NftRuleEncoding.word(number))
        case .interfaceName(let name): return (NftRuleEncoding.interfaceName(name), NftRuleEncoding.interfaceName(name))
        case .prefix(let prefix):
            let range = AddressRange(prefix)
            return (range.first, range.last)
        case .transportProtocol(let number): return ([number], [number])
        case .ports(let range):
            return (NftRuleEncoding.networkOrder(range.lower), NftRuleEncoding.networkOrder(range.upper))
        }
    }

    static func padded(_ bytes: [UInt8]) -> [UInt8] {
        bytes + [UInt8](repeating: 0, count: NftKeyLayout.padded(bytes.count) - bytes.count)
    }

    // MARK: Reading back

    /// A map read back from the kernel, or nil when it is not one uplinkctl writes. The kernel
    /// keeps only datatypes (ipv4_addr, not `ip saddr`; nothing of a hash's family or seed):
    /// `lookedUpBy` is the key of the rule that looks the map up, which says what the rest is.
    /// The definition must be exactly the one we would write for that key.
    public static func map(
        _ definition: NftSetDefinition, elements: [NftSetElement],
        lookedUpBy key: NftMapKey? = nil
    ) -> NftVerdictMap? {
        guard let typeof = Self.key(of: definition, lookedUpBy: key),
            let decoded = mapElements(elements, typeof: typeof)
        else { return nil }
        return NftVerdictMap(name: definition.name, typeof: typeof, elements: decoded)
    }

    /// What a map read back is keyed by: what its userdata names, or else the key of the rule
    /// that looks it up; either way, the definition we would write for it.
    static func key(of definition: NftSetDefinition, lookedUpBy key: NftMapKey?) -> NftMapKey? {
        [NftUserdata.mapKey(definition.userdata), key].compactMap { $0 }.first { key in
            Self.definition(NftVerdictMap(name: definition.name, typeof: key, elements: [])) == definition
        }
    }

    static func mapElements(_ elements: [NftSetElement], typeof: NftMapKey) -> [NftVerdictMap.Element]? {
        guard case .fields(let fields) = typeof else {
            return elements.map { element -> NftVerdictMap.Element? in
                guard element.keyEnd == nil, !element.intervalEnd, element.userdata == nil,
                    let key = NftRuleDecoding.Reader.value(element.key),
                    let verdict = element.verdict
                else { return nil }
                return NftVerdictMap.Element(key: key, verdict: verdict)
            }.allOrNothing()
        }
        let layout = NftKeyLayout(fields: fields)
        if !layout.isConcatenation && fields[0].isRange { return intervalElements(elements, field: fields[0]) }
        return elements.map { element -> NftVerdictMap.Element? in
            guard !element.intervalEnd, element.userdata == nil, let verdict = element.verdict,
                (element.keyEnd != nil) == layout.isConcatenatedInterval
            else { return nil }
            let end = element.keyEnd ?? element.key
            guard layout.isConcatenation else {
                let value = value(fields[0], first: element.key, last: end)
                return value.map { NftVerdictMap.Element(key: [$0], verdict: verdict) }
            }
            guard element.key.count == layout.length, end.count == layout.length else { return nil }
            var key: [NftFieldValue] = []
            for (field, offset) in zip(fields, layout.offsets) {
                let first = Array(element.key[offset..<(offset + NftKeyLayout.padded(field.byteLength))])
                let last = Array(end[offset..<(offset + first.count)])
                // Padding is zero, in both bounds.
                guard first.dropFirst(field.byteLength).allSatisfy({ $0 == 0 }),
                    last.dropFirst(field.byteLength).allSatisfy({ $0 == 0 }),
                    let value = value(
                        field, first: Array(first.prefix(field.byteLength)), last: Array(last.prefix(field.byteLength)))
                else { return nil }
                key.append(value)
            }
            return NftVerdictMap.Element(key: key, verdict: verdict)
        }.allOrNothing()
    }

    /// One field's bounds as a model value: a single name or protocol, a whole prefix, a port range.
    static func value(_ field: NftField, first: [UInt8], last: [UInt8]) -> NftFieldValue? {
        guard first.count == field.byteLength, last.count == field.byteLength else { return nil }
        switch field {
        case .inputInterfaceName:
            let name = String(decoding: first.prefix { $0 != 0 }, as: UTF8.self)
            return first == last && NftRuleEncoding.interfaceName(name) == first ? .interfaceName(name) : nil
        case .source, .destination:
            let prefixes = AddressRange(first: first, last: last).prefixes
            return prefixes.count == 1 && !last.lexicographicallyPrecedes(first) ? .prefix(prefixes[0]) : nil
        case .transportProtocol:
            return first == last ? .transportProtocol(first[0]) : nil
        case .sourcePort, .destinationPort:
            guard let lower = NftRuleDecoding.Reader.port(first), let upper = NftRuleDecoding.Reader.port(last) else {
                return nil
            }
            return lower <= upper ? .ports(PortRange(lower, upper)) : nil
        }
    }

    /// nft's boundary elements of a single-address interval map back into one element per start.
    static func intervalElements(_ elements: [NftSetElement], field: NftField) -> [NftVerdictMap.Element]? {
        guard let intervals = NftIntervalEncoding.intervals(elements) else { return nil }
        return intervals.map { interval -> NftVerdictMap.Element? in
            guard let verdict = interval.verdict,
                let value = value(field, first: interval.first, last: interval.last)
            else { return nil }
            return NftVerdictMap.Element(key: [value], verdict: verdict)
        }.allOrNothing()
    }
}

extension Array {
    /// Every element, or nil if any is nil.
    func allOrNothing<T>() -> [T]? where Element == T? {
        var result: [T] = []
        for element in self {
            guard let element else { return nil }
            result.append(element)
        }
        return result
    }
}
