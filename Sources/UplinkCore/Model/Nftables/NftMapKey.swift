/// What a verdict map is keyed by and looked up by: the expression nft's `typeof` names (a
/// rule's lookup may mask it, `NftRuleEnd.lookup`).
public enum NftMapKey: Sendable, Hashable, Codable {
    /// `ct mark`.
    case connectionMark
    /// `meta mark`: the packet's mark, as its socket set it (SO_MARK) before our hook.
    case packetMark
    /// `numgen inc mod N` (round-robin) or `numgen random mod N`.
    case numberGenerator(NumberGenerator, modulus: UInt32)
    /// `jhash ip saddr . ip daddr mod N seed S` (or `ip6`): the same two addresses, the same slot.
    case addressHash(IPFamily, modulus: UInt32, seed: UInt32)
    /// Packet fields, concatenated when more than one: `ip daddr . meta l4proto . th dport`.
    case fields([NftField])
    /// `rt classid`: the realm of the route the packet took (IPv4), which names the uplink
    /// table a `from ADDRESS` rule chose for a socket bound to that uplink's address.
    case routeRealm

    /// Keyed by a mark, conntrack's or the packet's: its elements print and encode as marks.
    public var isMark: Bool { self == .connectionMark || self == .packetMark }
}
