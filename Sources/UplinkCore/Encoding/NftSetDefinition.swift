/// A named set or verdict map as the kernel keeps it (NFTA_SET_*): the same attributes nft(8)
/// sends for the same text, userdata included, so that `nft list` shows our table as the
/// dry-run wrote it.
public struct NftSetDefinition: Sendable, Hashable {
    public var name: String
    public var flags: UInt32
    public var keyType: UInt32
    public var keyLength: UInt32
    /// Verdict maps: NFT_DATA_VERDICT.
    public var dataType: UInt32?
    public var userdata: [UInt8]
    /// A concatenation with ranges (NFTA_SET_DESC_CONCAT): each field's length, unpadded.
    public var fieldLengths: [UInt8]

    public init(
        name: String, flags: UInt32, keyType: UInt32, keyLength: UInt32, dataType: UInt32?, userdata: [UInt8],
        fieldLengths: [UInt8] = []
    ) {
        self.name = name
        self.flags = flags
        self.keyType = keyType
        self.keyLength = keyLength
        self.dataType = dataType
        self.userdata = userdata
        self.fieldLengths = fieldLengths
    }
}
