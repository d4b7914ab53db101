/// A rule: all matches must hold, then the statements run in order, then its end.
/// The vocabulary is closed on purpose: every case has one nft text form, one netlink
/// encoding and one iptables translation.
public struct NftRule: Sendable, Hashable, Codable {
    public var matches: [NftMatch]
    public var statements: [NftStatement]
    /// Nil: the chain goes on with the next rule.
    public var end: NftRuleEnd?

    public init(_ matches: [NftMatch] = [], _ statements: [NftStatement] = [], _ end: NftRuleEnd? = nil) {
        self.matches = matches
        self.statements = statements
        self.end = end
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
    /// `iifname "NAME"`.
    case inputInterface(String)
    /// `ip daddr 198.18.0.1` or `ip daddr 127.0.0.0/8` (and `ip6`).
    case destination(IPPrefix)
    /// `meta l4proto tcp`.
    case transportProtocol(UInt8)
    /// `th dport 8081` or `th dport 8000-8010`: behind a `meta l4proto` of tcp or udp.
    case destinationPorts(PortRange)
    /// `ct status dnat`: the connection's destination was translated (by a DNAT or redirect).
    case destinationTranslated
    /// `tcp option mptcp subtype N`: a TCP packet carries the MPTCP option (kind 30) with this
    /// subtype (0 to 15, the option's upper 4 bits after kind and length): 0 MP_CAPABLE, the
    /// first subflow's handshake; 1 MP_JOIN, a further subflow joining a connection. No
    /// `meta l4proto tcp` needed: the kernel finds TCP options in TCP packets only.
    case mptcpSubtype(UInt8)
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
    /// `dnat ip to ADDRESS:PORT`, or `redirect to :PORT` (to this host).
    case translateDestination(NatTarget)
}

/// Where a DNAT sends a connection: an address (and port), or this host (`redirect`: the
/// address the connection arrived on, 127.0.0.1 or ::1 for the host's own). No port: the
/// connection keeps its destination port.
public enum NatTarget: Sendable, Hashable, Codable, CustomStringConvertible {
    case address(IPAddress, port: UInt16?)
    case thisHost(port: UInt16?)

    public var port: UInt16? {
        switch self {
        case .address(_, let port), .thisHost(let port): return port
        }
    }

    /// `198.18.5.2:8080`, `[2001:2::5]:8080`, `198.18.5.2`, `:8001` (this host).
    public var description: String {
        let port = port.map { ":\($0)" } ?? ""
        switch self {
        case .thisHost: return port.isEmpty ? "this host" : port
        case .address(let address, _):
            return address.family == .ipv6 && !port.isEmpty ? "[\(address)]\(port)" : "\(address)\(port)"
        }
    }
}

/// A verdict: a rule's own, or what a verdict map's element holds.
public enum NftVerdict: Sendable, Hashable, Codable {
    case jump(String)
    case goto(String)
    case `return`
    case drop

    /// The chain it jumps or goes to.
    public var chain: String? {
        switch self {
        case .jump(let chain), .goto(let chain): return chain
        case .return, .drop: return nil
        }
    }
}

/// What a matching rule does last.
public enum NftRuleEnd: Sendable, Hashable, Codable {
    case verdict(NftVerdict)
    /// `KEY & MASK vmap @map`: look the key up in a named verdict map and follow the element's
    /// verdict; no element: the chain goes on. A mark is masked to the bits uplinkctl owns.
    case lookup(NftMapKey, mask: UInt32? = nil, map: String)
}

public enum NumberGenerator: String, Sendable, Hashable, Codable {
    case inc, random
}
