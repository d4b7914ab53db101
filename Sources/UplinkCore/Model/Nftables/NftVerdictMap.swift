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
    public var typeof: NftMapKey
    /// Sorted by key.
    public var elements: [Element]

    public init(name: String, typeof: NftMapKey, elements: [Element]) {
        self.name = name
        self.typeof = typeof
        self.elements = elements.sorted { $0.key.lexicographicallyPrecedes($1.key) }
    }

    /// The elements of a map keyed by a number (a mark, a slot, a realm), with their numbers.
    public var numbered: [(number: UInt32, verdict: NftVerdict)] {
        elements.compactMap { element in element.key.number.map { ($0, element.verdict) } }
    }

    /// Keys are ranges (`flags interval`): some field is an address or a port.
    public var isInterval: Bool {
        if case .fields(let fields) = typeof { return fields.contains { $0.isRange } }
        return false
    }
}
