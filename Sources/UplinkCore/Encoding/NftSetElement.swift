/// An element of a set or verdict map as the kernel keeps it (NFTA_SET_ELEM_*).
public struct NftSetElement: Sendable, Hashable {
    public var key: [UInt8]
    /// The last key of a concatenated range (NFTA_SET_ELEM_KEY_END), inclusive.
    public var keyEnd: [UInt8]?
    /// An interval set's element that ends the range before it (NFT_SET_ELEM_INTERVAL_END).
    public var intervalEnd: Bool
    public var verdict: NftVerdict?
    public var userdata: [UInt8]?

    public init(
        key: [UInt8], keyEnd: [UInt8]? = nil, intervalEnd: Bool = false, verdict: NftVerdict? = nil,
        userdata: [UInt8]? = nil
    ) {
        self.key = key
        self.keyEnd = keyEnd
        self.intervalEnd = intervalEnd
        self.verdict = verdict
        self.userdata = userdata
    }
}
