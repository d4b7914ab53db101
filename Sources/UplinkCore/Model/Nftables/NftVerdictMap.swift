/// A named verdict map: key → jump or goto a chain (or return). Named, so that its elements
/// can be diffed one by one and swapped in place (a health monitor retargets slots of a dead uplink).
public struct NftVerdictMap: Sendable, Hashable, Codable {
    public struct Element: Sendable, Hashable, Codable {
        /// One value per field of the map's key, in the key's order.
        public var key: [NftFieldValue]
        public var verdict: NftVerdict

        public init(key: [NftFieldValue], verdict: NftVerdict) {
            self.key = key
            self.verdict = verdict
        }

        /// An element of a numeric map (ct mark, numgen, jhash).
        public init(key: UInt32, verdict: NftVerdict) {
            self.init(key: [.number(key)], verdict: verdict)
        }
    }

    public var name: String
    /// The expression its keys are values of (nft's `typeof`).
    public var typeof: NftMapTypeof
    /// Sorted by key.
    public var elements: [Element]

    public init(name: String, typeof: NftMapTypeof, elements: [Element]) {
        self.name = name
        self.typeof = typeof
        self.elements = elements.sorted { $0.key.lexicographicallyPrecedes($1.key) }
    }

    /// Keys are ranges (`flags interval`): some field is an address or a port.
    public var isInterval: Bool {
        if case .fields(let fields) = typeof { return fields.contains { $0.isRange } }
        return false
    }
}

/// What a map's keys are, as `typeof` names it: the looked-up expression without its mask.
public enum NftMapTypeof: Sendable, Hashable, Codable {
    case connectionMark
    /// `meta mark`.
    case packetMark
    case numberGenerator(NumberGenerator, modulus: UInt32)
    /// `jhash ip saddr . ip daddr mod N seed S` (or `ip6`).
    case addressHash(IPFamily, modulus: UInt32, seed: UInt32)
    /// Packet fields, concatenated when more than one.
    case fields([NftField])
    /// `rt classid`.
    case routeRealm

    /// Keyed by a mark, conntrack's or the packet's: its elements print and encode as marks.
    public var isMark: Bool { self == .connectionMark || self == .packetMark }
}

extension NftMapKey {
    public var typeof: NftMapTypeof {
        switch self {
        case .connectionMark: return .connectionMark
        case .packetMark: return .packetMark
        case let .numberGenerator(generator, modulus): return .numberGenerator(generator, modulus: modulus)
        case let .addressHash(family, modulus, seed): return .addressHash(family, modulus: modulus, seed: seed)
        case let .fields(fields): return .fields(fields)
        case .routeRealm: return .routeRealm
        }
    }
}
