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
    /// The expression whose value is looked up (nft's `typeof`).
    public var key: NftMapKey
    /// Sorted by key.
    public var elements: [Element]

    public init(name: String, key: NftMapKey, elements: [Element]) {
        self.name = name
        self.key = key
        self.elements = elements.sorted { $0.key < $1.key }
    }
}
