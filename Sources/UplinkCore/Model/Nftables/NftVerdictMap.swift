/// A named verdict map: key value → jump or goto a chain. Named, so that its elements can be
/// diffed one by one and swapped in place (a health monitor retargets slots of a dead uplink).
public struct NftVerdictMap: Sendable, Hashable, Codable {
    public struct Element: Sendable, Hashable, Codable {
        public var key: UInt32
        public var verdict: NftVerdict

        public init(key: UInt32, verdict: NftVerdict) {
            self.key = key
            self.verdict = verdict
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
        self.elements = elements.sorted { $0.key < $1.key }
    }
}

/// What a map's keys are, as `typeof` names it: the looked-up expression without its mask.
public enum NftMapTypeof: Sendable, Hashable, Codable {
    case connectionMark
    case numberGenerator(NumberGenerator, modulus: UInt32)
}

extension NftMapKey {
    public var typeof: NftMapTypeof {
        switch self {
        case .connectionMark: return .connectionMark
        case let .numberGenerator(generator, modulus): return .numberGenerator(generator, modulus: modulus)
        }
    }
}
