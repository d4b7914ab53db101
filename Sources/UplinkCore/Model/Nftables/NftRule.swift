/// A rule: all matches must hold, then the statements run in order, then the verdict.
/// The vocabulary is closed on purpose: every case has one nft text form, one netlink
/// encoding and one iptables translation.
public struct NftRule: Sendable, Hashable, Codable {
    public var matches: [NftMatch]
    public var statements: [NftStatement]
    public var verdict: NftVerdict?

    public init(_ matches: [NftMatch] = [], _ statements: [NftStatement] = [], _ verdict: NftVerdict? = nil) {
        self.matches = matches
        self.statements = statements
        self.verdict = verdict
    }
}

public enum NftMatch: Sendable, Hashable, Codable {
    /// `meta nfproto ipv4`: the inet table sees both families; this keeps a rule to one.
    case family(IPFamily)
    /// `ct state != new`: a packet of a connection conntrack already knew.
    case connectionNotNew
    /// `ip daddr @set` / `ip6 daddr @set`.
    case destinationInSet(IPFamily, set: String)
    /// `oifname "NAME"`.
    case outputInterface(String)
    /// `oifname @set`: a local packet was routed (before our mark) by one of these interfaces.
    case outputInterfaceInSet(String)
    /// `fib daddr . mark oifname @set`: the kernel's routing, asked with the packet's own mark
    /// (before ours), would send it by one of these interfaces.
    case routeInterfaceInSet(String)
    /// `fib daddr type local`: addressed to this host.
    case destinationIsLocal
    /// `icmpv6 type 133-137`: router and neighbour solicitations and advertisements, redirects.
    case neighbourDiscovery
}

public enum NftStatement: Sendable, Hashable, Codable {
    /// `meta mark set meta mark & ~mask | value`: only the mask's bits change.
    case setPacketMark(MarkedBits)
    /// `ct mark set ct mark & ~mask | value`.
    case setConnectionMark(MarkedBits)
    /// `counter name "NAME"`.
    case count(counter: String)
    /// `masquerade`.
    case masquerade
}

public enum NftVerdict: Sendable, Hashable, Codable {
    case jump(String)
    case goto(String)
    case `return`
    /// Look the key up in a named verdict map and follow the element's verdict; no element: go on.
    case map(NftMapKey, map: String)
}

/// What a verdict map is looked up by.
public enum NftMapKey: Sendable, Hashable, Codable {
    /// `ct mark & mask`.
    case connectionMark(mask: UInt32)
    /// `meta mark & mask`: the packet's mark, as its socket set it (SO_MARK) before our hook.
    case packetMark(mask: UInt32)
    /// `numgen inc mod N` (round-robin) or `numgen random mod N`.
    case numberGenerator(NumberGenerator, modulus: UInt32)
    /// `jhash ip saddr . ip daddr mod N seed S`: the same two addresses, the same slot.
    case addressHash(IPFamily, modulus: UInt32, seed: UInt32)
    /// Packet fields, concatenated: `ip daddr . meta l4proto . th dport`.
    case fields([NftField])
    /// `rt classid`: the realm of the route the packet took (IPv4), which names the uplink
    /// table a `from ADDRESS` rule chose for a socket bound to that uplink's address.
    case routeRealm
}

public enum NumberGenerator: String, Sendable, Hashable, Codable {
    case inc, random
}
