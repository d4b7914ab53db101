/// The kernel's expressions of a rule back into the model's vocabulary; nil when they are not a
/// rule uplinkctl writes (then diff shows the raw expressions and replaces the rule).
public enum NftRuleDecoding {
    public static func rule(_ expressions: [NftExpression]) -> NftRule? {
        var reader = Reader(expressions: expressions[...])
        var rule = NftRule()
        while !reader.isAtEnd {
            if let match = reader.match() {
                rule.matches.append(match)
            } else if let statement = reader.statement() {
                rule.statements.append(statement)
            } else if let verdict = reader.verdict(), reader.isAtEnd {
                rule.verdict = verdict
            } else {
                return nil
            }
        }
        // One encoding per rule: whatever we decode must encode to the very same expressions.
        return NftRuleEncoding.expressions(rule) == expressions ? rule : nil
    }

    /// Takes known expression sequences off the front.
    struct Reader {
        var expressions: ArraySlice<NftExpression>
        var isAtEnd: Bool { expressions.isEmpty }

        /// Consumes the expressions of `candidate` if they are next.
        mutating func take(_ candidate: [NftExpression]) -> Bool {
            guard expressions.starts(with: candidate) else { return false }
            expressions.removeFirst(candidate.count)
            return true
        }

        var first: NftExpression? { expressions.first }
        var second: NftExpression? { expressions.dropFirst().first }

        mutating func match() -> NftMatch? {
            let family = self.family()
            if let family {
                // A network-header lookup carries its family check with it.
                if let set = networkHeaderLookup(family) { return .destinationInSet(family, set: set) }
                return .family(family)
            }
            if take(NftRuleEncoding.expressions(.connectionNotNew, in: NftRule())) { return .connectionNotNew }
            if take(NftRuleEncoding.expressions(.destinationIsLocal, in: NftRule())) { return .destinationIsLocal }
            switch (first, second) {
            case (.metaLoad(.inputInterfaceName, 1)?, .lookup(let set, 1, false)?):
                expressions.removeFirst(2)
                return .inputInterfaceInSet(set: set)
            case (.metaLoad(.outputInterfaceName, 1)?, .compare(.equal, 1, let data)?) where data.count == 16:
                let name = String(decoding: data.prefix { $0 != 0 }, as: UTF8.self)
                guard NftRuleEncoding.interfaceName(name) == data else { return nil }
                expressions.removeFirst(2)
                return .outputInterface(name)
            default:
                return nil
            }
        }

        mutating func family() -> IPFamily? {
            for family in [IPFamily.ipv4, .ipv6] where take(NftRuleEncoding.familyCheck(family)) { return family }
            return nil
        }

        mutating func networkHeaderLookup(_ family: IPFamily) -> String? {
            let (offset, length): (UInt32, UInt32) = family == .ipv4 ? (16, 4) : (24, 16)
            guard case .networkHeaderLoad(offset, length, 1)? = first, case .lookup(let set, 1, false)? = second else { return nil }
            expressions.removeFirst(2)
            return set
        }

        mutating func statement() -> NftStatement? {
            switch (first, second, expressions.dropFirst(2).first) {
            case (.metaLoad(.mark, 1)?, .bitwise(1, let mask, let xor)?, .metaSet(.mark, 1)?):
                guard let bits = markedBits(mask: mask, xor: xor) else { return nil }
                expressions.removeFirst(3)
                return .setPacketMark(bits)
            case (.conntrackLoad(.mark, 1)?, .bitwise(1, let mask, let xor)?, .conntrackSet(.mark, 1)?):
                guard let bits = markedBits(mask: mask, xor: xor) else { return nil }
                expressions.removeFirst(3)
                return .setConnectionMark(bits)
            case (.objectReference(NftRuleEncoding.counterObjectType, let name)?, _, _):
                expressions.removeFirst()
                return .count(counter: name)
            case (.masquerade?, _, _):
                expressions.removeFirst()
                return .masquerade
            default:
                return nil
            }
        }

        mutating func verdict() -> NftVerdict? {
            switch (first, second, expressions.dropFirst(2).first) {
            case (.verdict(let code)?, _, _):
                expressions.removeFirst()
                switch code {
                case .jump(let chain): return .jump(chain)
                case .goto(let chain): return .goto(chain)
                case .return: return .return
                }
            case (.conntrackLoad(.mark, 1)?, .bitwise(1, let mask, let xor)?, .lookup(let map, 1, true)?):
                guard xor == NftRuleEncoding.word(0), let mask = Self.value(mask) else { return nil }
                expressions.removeFirst(3)
                return .map(.connectionMark(mask: mask), map: map)
            case (.numberGenerator(let generator, let modulus, 1)?, .lookup(let map, 1, true)?, _):
                expressions.removeFirst(2)
                return .map(.numberGenerator(generator, modulus: modulus), map: map)
            default:
                return nil
            }
        }

        /// (mark & ~mask) ^ value, with value inside mask.
        func markedBits(mask: [UInt8], xor: [UInt8]) -> MarkedBits? {
            guard let keep = Self.value(mask), let value = Self.value(xor), value & keep == 0 else { return nil }
            return MarkedBits(value: value, mask: ~keep)
        }

        static func value(_ word: [UInt8]) -> UInt32? {
            guard word.count == 4 else { return nil }
            return word.enumerated().reduce(0) { $0 | UInt32($1.element) << (8 * UInt32($1.offset)) }
        }
    }
}
