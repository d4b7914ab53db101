/// uplinkctl's nftables table (family inet) with everything in it.
public struct NftTable: Sendable, Hashable, Codable {
    public var name: String
    /// Named counters: the new connections balanced onto each uplink (and the multipath route),
    /// those left alone, and those sent to each service backend.
    public var counters: [String]
    public var sets: [NftSet]
    public var maps: [NftVerdictMap]
    /// Chains in dependency order: a chain comes after every chain it jumps to.
    public var chains: [NftChain]

    public init(
        name: String = Ownership.nftTableName, counters: [String] = [], sets: [NftSet] = [],
        maps: [NftVerdictMap] = [], chains: [NftChain] = []
    ) {
        self.name = name
        self.counters = counters
        self.sets = sets
        self.maps = maps
        self.chains = chains
    }

    public func chain(named name: String) -> NftChain? { chains.first { $0.name == name } }
    public func map(named name: String) -> NftVerdictMap? { maps.first { $0.name == name } }
    public func set(named name: String) -> NftSet? { sets.first { $0.name == name } }
}
