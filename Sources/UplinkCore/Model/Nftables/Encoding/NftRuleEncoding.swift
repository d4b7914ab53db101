/// A rule of the model as the kernel's expressions, exactly as nft(8) encodes the same text.
/// Registers: nft uses register 1 for values and register 0 for verdicts.
public enum NftRuleEncoding {
    static let register: UInt32 = 1

    public static func expressions(_ rule: NftRule) -> [NftExpression] {
        var result: [NftExpression] = []
        for match in rule.matches { result += expressions(match, in: rule) }
        for statement in rule.statements { result += expressions(statement) }
        if let verdict = rule.verdict { result += expressions(verdict) }
        return result
    }

    static func expressions(_ match: NftMatch, in rule: NftRule) -> [NftExpression] {
        switch match {
        case .family(let family):
            return familyCheck(family)
        case .neighbourDiscovery:
            fatalError("TODO(issue 5): encode \(match)")
        case .connectionNotNew:
            return [.conntrackLoad(.state, register: register), .compare(.notEqual, register: register, data: word(conntrackStateNew))]
        case let .destinationInSet(family, set):
            // In an inet table nft puts the family check in front of a network-header match,
            // unless the rule already has it.
            let dependency = rule.matches.contains(.family(family)) ? [] : familyCheck(family)
            let (offset, length): (UInt32, UInt32) = family == .ipv4 ? (16, 4) : (24, 16)
            return dependency + [.networkHeaderLoad(offset: offset, length: length, register: register),
                                 .lookup(set: set, register: register, verdictRegister: false)]
        case .inputInterfaceInSet(let set):
            return [.metaLoad(.inputInterfaceName, register: register), .lookup(set: set, register: register, verdictRegister: false)]
        case .outputInterface(let name):
            return [.metaLoad(.outputInterfaceName, register: register), .compare(.equal, register: register, data: interfaceName(name))]
        case .destinationIsLocal:
            return [.fibDestinationType(register: register), .compare(.equal, register: register, data: word(routeTypeLocal))]
        }
    }

    static func expressions(_ statement: NftStatement) -> [NftExpression] {
        switch statement {
        case .setPacketMark(let bits):
            return [.metaLoad(.mark, register: register), keepOutsideMask(bits), .metaSet(.mark, register: register)]
        case .setConnectionMark(let bits):
            return [.conntrackLoad(.mark, register: register), keepOutsideMask(bits), .conntrackSet(.mark, register: register)]
        case .count(let counter):
            return [.objectReference(type: counterObjectType, name: counter)]
        case .masquerade:
            return [.masquerade]
        }
    }

    static func expressions(_ verdict: NftVerdict) -> [NftExpression] {
        switch verdict {
        case .jump(let chain): return [.verdict(.jump(chain))]
        case .goto(let chain): return [.verdict(.goto(chain))]
        case .return: return [.verdict(.return)]
        case let .map(key, map):
            return expressions(key) + [.lookup(set: map, register: register, verdictRegister: true)]
        }
    }

    static func expressions(_ key: NftMapKey) -> [NftExpression] {
        switch key {
        case .connectionMark(let mask):
            return [.conntrackLoad(.mark, register: register), .bitwise(register: register, mask: word(mask), xor: word(0))]
        case let .numberGenerator(generator, modulus):
            return [.numberGenerator(generator, modulus: modulus, register: register)]
        case .addressHash, .fields:
            fatalError("TODO(issue 5): encode \(key)")
        }
    }

    static func familyCheck(_ family: IPFamily) -> [NftExpression] {
        [.metaLoad(.nfproto, register: register), .compare(.equal, register: register, data: [family == .ipv4 ? 2 : 10])]
    }

    /// mark = mark & ~mask ^ value: bits outside the mask stay as they were.
    static func keepOutsideMask(_ bits: MarkedBits) -> NftExpression {
        .bitwise(register: register, mask: word(~bits.mask), xor: word(bits.value))
    }

    static let conntrackStateNew: UInt32 = 8
    /// RTN_LOCAL.
    static let routeTypeLocal: UInt32 = 2
    static let counterObjectType: UInt32 = 1

    /// A 32-bit value in host byte order, as meta and ct keep them.
    static func word(_ value: UInt32) -> [UInt8] {
        (0..<4).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) }
    }

    /// An interface name as nft compares it: IFNAMSIZ bytes, zero-padded.
    public static func interfaceName(_ name: String) -> [UInt8] {
        Array((Array(name.utf8) + [UInt8](repeating: 0, count: 16)).prefix(16))
    }
}
