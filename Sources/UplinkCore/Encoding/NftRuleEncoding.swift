/// A rule of the model as the kernel's expressions, exactly as nft(8) encodes the same text.
/// Registers: nft uses register 1 for values and register 0 for verdicts.
public enum NftRuleEncoding {
    static let register: UInt32 = 1

    public static func expressions(_ rule: NftRule) -> [NftExpression] {
        var result: [NftExpression] = []
        for match in rule.matches { result += expressions(match, in: rule) }
        for statement in rule.statements { result += expressions(statement) }
        if let end = rule.end { result += expressions(end, in: rule) }
        return result
    }

    static func expressions(_ match: NftMatch, in rule: NftRule) -> [NftExpression] {
        switch match {
        case .family(let family):
            return familyCheck(family)
        case .neighbourDiscovery:
            // `icmpv6 type 133-137`: nft's protocol dependencies, then a range as two comparisons.
            return dependency(.ipv6, in: rule) + [
                .metaLoad(.l4proto, register: register),
                .compare(.equal, register: register, data: [IPProtocolNumber.icmpv6]),
                .payloadLoad(.transport, offset: 0, length: 1, register: register),
                .compare(.greaterOrEqual, register: register, data: [133]),
                .compare(.lessOrEqual, register: register, data: [137])
            ]
        case .connectionNotNew:
            return [
                .conntrackLoad(.state, register: register),
                .compare(.notEqual, register: register, data: word(conntrackStateNew))
            ]
        case .destinationInSet(let family, let set):
            return dependency(family, in: rule) + load(.destination(family), register: register, inInterval: false)
                + [.lookup(set: set, register: register, verdictRegister: false)]
        case .outputInterface(let name):
            return [
                .metaLoad(.outputInterfaceName, register: register),
                .compare(.equal, register: register, data: interfaceName(name))
            ]
        case .destinationIsLocal:
            return [
                .fibDestinationType(register: register),
                .compare(.equal, register: register, data: word(routeTypeLocal))
            ]
        case .outputInterfaceInSet(let set):
            return [
                .metaLoad(.outputInterfaceName, register: register),
                .lookup(set: set, register: register, verdictRegister: false)
            ]
        case .routeInterfaceInSet(let set):
            return [
                .fibRouteInterfaceName(register: register),
                .lookup(set: set, register: register, verdictRegister: false)
            ]
        case .inputInterface(let name):
            return [
                .metaLoad(.inputInterfaceName, register: register),
                .compare(.equal, register: register, data: interfaceName(name))
            ]
        case .destination(let prefix):
            return dependency(prefix.family, in: rule) + prefixComparison(prefix)
        case .transportProtocol(let number):
            return [.metaLoad(.l4proto, register: register), .compare(.equal, register: register, data: [number])]
        case .destinationPorts(let ports):
            let load = NftExpression.payloadLoad(.transport, offset: 2, length: 2, register: register)
            if ports.lower == ports.upper {
                return [load, .compare(.equal, register: register, data: networkOrder(ports.lower))]
            }
            return [
                load, .compare(.greaterOrEqual, register: register, data: networkOrder(ports.lower)),
                .compare(.lessOrEqual, register: register, data: networkOrder(ports.upper))
            ]
        case .destinationTranslated:
            return [
                .conntrackLoad(.status, register: register),
                .bitwise(register: register, mask: word(conntrackStatusDestinationNat), xor: word(0)),
                .compare(.notEqual, register: register, data: word(0))
            ]
        case .mptcpSubtype(let subtype):
            // The subtype is a bit field: nft loads the option's third byte, keeps its upper 4 bits
            // and compares them in place.
            return [
                .tcpOptionLoad(kind: mptcpOptionKind, offset: 2, length: 1, register: register),
                .bitwise(register: register, mask: [mptcpSubtypeMask], xor: [0]),
                .compare(.equal, register: register, data: [subtype << 4])
            ]
        }
    }

    /// `ip daddr PREFIX` as nft encodes it: the prefix's whole bytes loaded and compared, a
    /// partial last byte masked first.
    static func prefixComparison(_ prefix: IPPrefix) -> [NftExpression] {
        let length = (prefix.length + 7) / 8
        let offset: UInt32 = prefix.family == .ipv4 ? 16 : 24
        let bytes = Array(prefix.address.bytes.prefix(length))
        var result = [NftExpression.payloadLoad(.network, offset: offset, length: UInt32(length), register: register)]
        if prefix.length % 8 != 0 {
            let mask = (0..<length).map { index in
                UInt8(truncatingIfNeeded: 0xff << max(0, (index + 1) * 8 - prefix.length))
            }
            result.append(.bitwise(register: register, mask: mask, xor: [UInt8](repeating: 0, count: length)))
        }
        return result + [.compare(.equal, register: register, data: bytes)]
    }

    /// A port in network byte order.
    static func networkOrder(_ value: UInt16) -> [UInt8] { withUnsafeBytes(of: value.bigEndian) { Array($0) } }

    static func expressions(_ statement: NftStatement) -> [NftExpression] {
        switch statement {
        case .setPacketMark(let bits):
            return [.metaLoad(.mark, register: register), keepOutsideMask(bits), .metaSet(.mark, register: register)]
        case .setConnectionMark(let bits):
            return [
                .conntrackLoad(.mark, register: register), keepOutsideMask(bits),
                .conntrackSet(.mark, register: register)
            ]
        case .count(let counter):
            return [.objectReference(type: counterObjectType, name: counter)]
        case .masquerade:
            return [.masquerade]
        case .translateDestination(.thisHost(let port?)):
            // nft puts a redirect's port in register 1, a DNAT's address there and its port in 2.
            return [.immediate(register: register, data: networkOrder(port)), .redirect(portRegister: register)]
        case .translateDestination(.thisHost(nil)):
            return [.redirect(portRegister: nil)]
        case .translateDestination(.address(let address, let port)):
            let load = NftExpression.immediate(register: register, data: address.bytes)
            guard let port else {
                return [load, .destinationNat(address.family, addressRegister: register, portRegister: nil)]
            }
            return [
                load, .immediate(register: portRegister, data: networkOrder(port)),
                .destinationNat(address.family, addressRegister: register, portRegister: portRegister)
            ]
        }
    }

    static func expressions(_ end: NftRuleEnd, in rule: NftRule) -> [NftExpression] {
        switch end {
        case .verdict(let verdict): return [.verdict(verdict)]
        case .lookup(let key, let mask, let map):
            let masked = mask.map { [NftExpression.bitwise(register: register, mask: word($0), xor: word(0))] } ?? []
            return expressions(key, in: rule) + masked + [.lookup(set: map, register: register, verdictRegister: true)]
        }
    }

    static func expressions(_ key: NftMapKey, in rule: NftRule) -> [NftExpression] {
        switch key {
        case .connectionMark:
            return [.conntrackLoad(.mark, register: register)]
        case .packetMark:
            return [.metaLoad(.mark, register: register)]
        case .numberGenerator(let generator, let modulus):
            return [.numberGenerator(generator, modulus: modulus, register: register)]
        case .routeRealm:
            return [.routeRealmLoad(register: register)]
        case .addressHash(let family, let modulus, let seed):
            // nft loads the two addresses from register 2 on and hashes into register 1.
            let source = NftKeyLayout(fields: [.source(family), .destination(family)], firstIndex: 4)
            return dependency(family, in: rule)
                + zip(source.fields, source.registers).flatMap { load($0, register: $1, inInterval: false) }
                + [
                    .jenkinsHash(
                        source: source.registers[0], length: UInt32(source.length), modulus: modulus, seed: seed,
                        register: register)
                ]
        case .fields(let fields):
            let layout = NftKeyLayout(fields: fields)
            let family = fields.lazy.compactMap(\.family).first
            return (family.map { dependency($0, in: rule) } ?? [])
                + zip(fields, layout.registers).flatMap {
                    load($0, register: $1, inInterval: layout.isConcatenatedInterval)
                }
        }
    }

    /// The expressions that put one field's value into `register`.
    static func load(_ field: NftField, register: UInt32, inInterval: Bool) -> [NftExpression] {
        switch field {
        case .inputInterfaceName:
            return [.metaLoad(.inputInterfaceName, register: register)]
        case .source(let family):
            return [
                .payloadLoad(
                    .network, offset: family == .ipv4 ? 12 : 8, length: UInt32(family.bitCount / 8), register: register)
            ]
        case .destination(let family):
            return [
                .payloadLoad(
                    .network, offset: family == .ipv4 ? 16 : 24, length: UInt32(family.bitCount / 8), register: register
                )
            ]
        case .transportProtocol:
            let load = NftExpression.metaLoad(.l4proto, register: register)
            return inInterval ? [load, .hostToNetwork(register: register, length: 1, size: 2)] : [load]
        case .sourcePort:
            return [.payloadLoad(.transport, offset: 0, length: 2, register: register)]
        case .destinationPort:
            return [.payloadLoad(.transport, offset: 2, length: 2, register: register)]
        }
    }

    /// In an inet table nft puts the family check in front of a match on an address (or of
    /// icmpv6), unless the rule already has it.
    static func dependency(_ family: IPFamily, in rule: NftRule) -> [NftExpression] {
        rule.matches.contains(.family(family)) ? [] : familyCheck(family)
    }

    static func familyCheck(_ family: IPFamily) -> [NftExpression] {
        [
            .metaLoad(.nfproto, register: register),
            .compare(.equal, register: register, data: [family == .ipv4 ? 2 : 10])
        ]
    }

    /// mark = mark & ~mask ^ value: bits outside the mask stay as they were.
    static func keepOutsideMask(_ bits: MarkedBits) -> NftExpression {
        .bitwise(register: register, mask: word(~bits.mask), xor: word(bits.value))
    }

    static let conntrackStateNew: UInt32 = 8
    /// IPS_DST_NAT.
    static let conntrackStatusDestinationNat: UInt32 = 0x20
    static let portRegister: UInt32 = 2
    /// RTN_LOCAL.
    static let routeTypeLocal: UInt32 = 2
    static let counterObjectType: UInt32 = 1
    /// TCP option kind 30 (RFC 8684), whose third byte holds the subtype in its upper 4 bits.
    static let mptcpOptionKind: UInt8 = 30
    static let mptcpSubtypeMask: UInt8 = 0xf0

    /// A 32-bit value in host byte order, as meta and ct keep them.
    static func word(_ value: UInt32) -> [UInt8] {
        withUnsafeBytes(of: value) { Array($0) }
    }

    /// An interface name as nft compares it: IFNAMSIZ bytes, zero-padded.
    public static func interfaceName(_ name: String) -> [UInt8] {
        Array((Array(name.utf8) + [UInt8](repeating: 0, count: 16)).prefix(16))
    }
}
