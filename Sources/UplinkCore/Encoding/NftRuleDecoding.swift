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
            } else if let end = reader.end(), reader.isAtEnd {
                rule.end = end
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
            // Family checks that are a dependency of what follows belong to it.
            if take(NftRuleEncoding.expressions(.neighbourDiscovery, in: NftRule())) { return .neighbourDiscovery }
            var lookahead = self
            if lookahead.end() != nil, lookahead.isAtEnd { return nil }
            let family = self.family()
            if let family {
                // A network-header lookup or comparison carries its family check with it.
                if let set = networkHeaderLookup(family) { return .destinationInSet(family, set: set) }
                if let prefix = destinationPrefix(family) { return .destination(prefix) }
                return .family(family)
            }
            for fixed in [NftMatch.connectionNotNew, .destinationIsLocal, .destinationTranslated]
            where take(NftRuleEncoding.expressions(fixed, in: NftRule())) { return fixed }
            if let ports = destinationPorts() { return .destinationPorts(ports) }
            if let subtype = mptcpSubtype() { return .mptcpSubtype(subtype) }
            switch (first, second) {
            case (.metaLoad(.outputInterfaceName, 1)?, .lookup(let set, 1, false)?):
                expressions.removeFirst(2)
                return .outputInterfaceInSet(set)
            case (.fibRouteInterfaceName(1)?, .lookup(let set, 1, false)?):
                expressions.removeFirst(2)
                return .routeInterfaceInSet(set)
            case (.metaLoad(let key, 1)?, .compare(.equal, 1, let data)?)
            where data.count == 16 && (key == .outputInterfaceName || key == .inputInterfaceName):
                let name = String(decoding: data.prefix { $0 != 0 }, as: UTF8.self)
                guard NftRuleEncoding.interfaceName(name) == data else { return nil }
                expressions.removeFirst(2)
                return key == .outputInterfaceName ? .outputInterface(name) : .inputInterface(name)
            case (.metaLoad(.l4proto, 1)?, .compare(.equal, 1, let data)?) where data.count == 1:
                expressions.removeFirst(2)
                return .transportProtocol(data[0])
            default:
                return nil
            }
        }

        mutating func family() -> IPFamily? {
            for family in [IPFamily.ipv4, .ipv6] where take(NftRuleEncoding.familyCheck(family)) { return family }
            return nil
        }

        mutating func networkHeaderLookup(_ family: IPFamily) -> String? {
            guard [first] == NftRuleEncoding.load(.destination(family), register: 1, inInterval: false),
                case .lookup(let set, 1, false)? = second
            else { return nil }
            expressions.removeFirst(2)
            return set
        }

        /// `ip daddr PREFIX`: a load of the destination's leading bytes, a mask for a partial
        /// byte, and a comparison.
        mutating func destinationPrefix(_ family: IPFamily) -> IPPrefix? {
            let offset: UInt32 = family == .ipv4 ? 16 : 24
            guard case .payloadLoad(.network, offset, let length, 1)? = first, length > 0, length <= family.bitCount / 8
            else { return nil }
            for bits in stride(from: Int(length) * 8, to: Int(length - 1) * 8, by: -1) {
                let candidate = Array(expressions.dropFirst().prefix(bits % 8 == 0 ? 1 : 2))
                guard case .compare(.equal, 1, let data)? = candidate.last, data.count == Int(length) else { continue }
                let padded = data + [UInt8](repeating: 0, count: family.bitCount / 8 - data.count)
                guard let address = IPAddress(bytes: padded), let prefix = IPPrefix(address: address, length: bits),
                    NftRuleEncoding.prefixComparison(prefix) == Array(expressions.prefix(candidate.count + 1))
                else { continue }
                expressions.removeFirst(candidate.count + 1)
                return prefix
            }
            return nil
        }

        /// `th dport P` or `th dport A-B`.
        mutating func destinationPorts() -> PortRange? {
            guard case .payloadLoad(.transport, 2, 2, 1)? = first else { return nil }
            switch (second, expressions.dropFirst(2).first) {
            case (.compare(.greaterOrEqual, 1, let low)?, .compare(.lessOrEqual, 1, let high)?):
                guard let lower = Self.port(low), let upper = Self.port(high), lower < upper else { return nil }
                expressions.removeFirst(3)
                return PortRange(lower, upper)
            case (.compare(.equal, 1, let data)?, _):
                guard let value = Self.port(data) else { return nil }
                expressions.removeFirst(2)
                return PortRange(value)
            default:
                return nil
            }
        }

        /// `tcp option mptcp subtype N`: the option's third byte, its upper 4 bits compared in place.
        mutating func mptcpSubtype() -> UInt8? {
            guard case .tcpOptionLoad(NftRuleEncoding.mptcpOptionKind, 2, 1, 1)? = first,
                case .compare(.equal, 1, let data)? = expressions.dropFirst(2).first, data.count == 1,
                data[0] & ~NftRuleEncoding.mptcpSubtypeMask == 0
            else { return nil }
            let subtype = data[0] >> 4
            guard take(NftRuleEncoding.expressions(.mptcpSubtype(subtype), in: NftRule())) else { return nil }
            return subtype
        }

        /// `dnat ip to ADDRESS[:PORT]`, `redirect [to :PORT]`, as NftRuleEncoding writes them.
        mutating func destinationTranslation() -> NftStatement? {
            let target: NatTarget
            switch (first, second, expressions.dropFirst(2).first) {
            case (.redirect(nil)?, _, _):
                target = .thisHost(port: nil)
            case (.immediate(1, let data)?, .redirect(1)?, _):
                guard let value = Self.port(data) else { return nil }
                target = .thisHost(port: value)
            case (.immediate(1, let address)?, .immediate(2, let data)?, .destinationNat(let family, 1, 2)?):
                guard let address = IPAddress(bytes: address), address.family == family, let value = Self.port(data)
                else { return nil }
                target = .address(address, port: value)
            case (.immediate(1, let address)?, .destinationNat(let family, 1, nil)?, _):
                guard let address = IPAddress(bytes: address), address.family == family else { return nil }
                target = .address(address, port: nil)
            default:
                return nil
            }
            let statement = NftStatement.translateDestination(target)
            expressions.removeFirst(NftRuleEncoding.expressions(statement).count)
            return statement
        }

        mutating func statement() -> NftStatement? {
            if let translation = destinationTranslation() { return translation }
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

        mutating func end() -> NftRuleEnd? {
            switch (first, second, expressions.dropFirst(2).first) {
            case (.verdict(let verdict)?, _, _):
                expressions.removeFirst()
                return .verdict(verdict)
            case (.conntrackLoad(.mark, 1)?, .bitwise(1, let mask, let xor)?, .lookup(let map, 1, true)?):
                guard xor == NftRuleEncoding.word(0), let mask = Self.value(mask) else { return nil }
                expressions.removeFirst(3)
                return .lookup(.connectionMark, mask: mask, map: map)
            case (.metaLoad(.mark, 1)?, .bitwise(1, let mask, let xor)?, .lookup(let map, 1, true)?):
                guard xor == NftRuleEncoding.word(0), let mask = Self.value(mask) else { return nil }
                expressions.removeFirst(3)
                return .lookup(.packetMark, mask: mask, map: map)
            case (.numberGenerator(let generator, let modulus, 1)?, .lookup(let map, 1, true)?, _):
                expressions.removeFirst(2)
                return .lookup(.numberGenerator(generator, modulus: modulus), map: map)
            case (.routeRealmLoad(1)?, .lookup(let map, 1, true)?, _):
                expressions.removeFirst(2)
                return .lookup(.routeRealm, map: map)
            default:
                return keyedLookup()
            }
        }

        /// A lookup keyed by packet fields or by their hash, with its family check: the key is
        /// read field by field, and must encode back to exactly these expressions.
        mutating func keyedLookup() -> NftRuleEnd? {
            guard
                let lookup = expressions.lastIndex(where: {
                    if case .lookup(_, 1, true) = $0 { return true } else { return false }
                }),
                lookup == expressions.indices.last, case .lookup(let map, _, _) = expressions[lookup]
            else { return nil }
            let body = Array(expressions[..<lookup])
            // Without its family check when an earlier match of the rule is that check; the whole
            // rule is encoded again at the end, so this only has to find the key.
            let contexts = [NftRule(), NftRule([.family(.ipv4)]), NftRule([.family(.ipv6)])]
            for key in Self.candidateKeys(body)
            where contexts.contains(where: { NftRuleEncoding.expressions(key, in: $0) == body }) {
                expressions.removeAll()
                return .lookup(key, map: map)
            }
            return nil
        }

        /// The keys these loads could be: the fields they load in order, or the hash over them.
        static func candidateKeys(_ body: [NftExpression]) -> [NftMapKey] {
            var loads = body[...]
            if let family = [IPFamily.ipv4, .ipv6].first(where: { loads.starts(with: NftRuleEncoding.familyCheck($0)) })
            {
                loads.removeFirst(NftRuleEncoding.familyCheck(family).count)
            }
            if case .jenkinsHash(_, let length, let modulus, let seed, 1)? = loads.last {
                let family: IPFamily = length == 8 ? .ipv4 : .ipv6
                return [.addressHash(family, modulus: modulus, seed: seed)]
            }
            var fields: [NftField] = []
            for expression in loads {
                switch expression {
                case .metaLoad(.inputInterfaceName, _): fields.append(.inputInterfaceName)
                case .metaLoad(.l4proto, _): fields.append(.transportProtocol)
                case .payloadLoad(.network, let offset, let length, _):
                    let family: IPFamily = length == 4 ? .ipv4 : .ipv6
                    let source: UInt32 = family == .ipv4 ? 12 : 8
                    fields.append(offset == source ? .source(family) : .destination(family))
                case .payloadLoad(.transport, let offset, 2, _):
                    fields.append(offset == 0 ? .sourcePort : .destinationPort)
                case .hostToNetwork: continue
                default: return []
                }
            }
            return fields.isEmpty ? [] : [.fields(fields)]
        }

        /// A port as NftRuleEncoding.networkOrder wrote it.
        static func port(_ data: [UInt8]) -> UInt16? {
            guard data.count == 2 else { return nil }
            return UInt16(bigEndian: data.withUnsafeBytes { $0.loadUnaligned(as: UInt16.self) })
        }

        /// (mark & ~mask) ^ value, with value inside mask.
        func markedBits(mask: [UInt8], xor: [UInt8]) -> MarkedBits? {
            guard let keep = Self.value(mask), let value = Self.value(xor), value & keep == 0 else { return nil }
            return MarkedBits(value: value, mask: ~keep)
        }

        static func value(_ word: [UInt8]) -> UInt32? {
            guard word.count == 4 else { return nil }
            return word.withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) }
        }
    }
}
