/// One entry of `policies:`: which new connections it catches and where they go.
/// Entries are checked top to bottom; the first that matches decides.
public struct Policy: Sendable, Hashable, Codable {
    /// The config line the entry starts on: comments and warnings name it.
    public var line: Int
    public var match: PolicyMatch
    public var action: PolicyAction
    /// Where its connections go while every uplink of its action is down.
    public var fallback: PolicyFallback

    public init(line: Int, match: PolicyMatch, action: PolicyAction, fallback: PolicyFallback = .balance) {
        self.line = line
        self.match = match
        self.action = action
        self.fallback = fallback
    }
}

/// `fallback:` of a policy entry: what its connections do while its uplinks are down.
public enum PolicyFallback: Sendable, Hashable, Codable {
    /// Balanced over the uplinks that work (the default).
    case balance
    /// This uplink instead (balanced over the uplinks that work if it is down too).
    case uplink(String)
    /// Kept on the dead uplink: the connection fails rather than leave by another link.
    case none
}

/// What a policy entry matches. Every list that is not empty must match (one of its values);
/// an empty list matches anything.
public struct PolicyMatch: Sendable, Hashable, Codable {
    public var destinations: [IPPrefix]
    public var sources: [IPPrefix]
    /// IP protocol numbers (6 tcp, 17 udp, 1 icmp, 58 icmpv6).
    public var protocols: [UInt8]
    /// Only with protocols that are all tcp or udp.
    public var destinationPorts: [PortRange]
    public var sourcePorts: [PortRange]
    /// Incoming interface names (forwarded traffic; local traffic has none).
    public var inputInterfaces: [String]

    public init(
        destinations: [IPPrefix] = [], sources: [IPPrefix] = [], protocols: [UInt8] = [],
        destinationPorts: [PortRange] = [], sourcePorts: [PortRange] = [], inputInterfaces: [String] = []
    ) {
        self.destinations = destinations
        self.sources = sources
        self.protocols = protocols
        self.destinationPorts = destinationPorts
        self.sourcePorts = sourcePorts
        self.inputInterfaces = inputInterfaces
    }
}

/// Where the connections a policy entry matches go.
public enum PolicyAction: Sendable, Hashable, Codable {
    /// Always this uplink (by name).
    case uplink(String)
    /// Not balanced: the main routing table decides, as if uplinkctl were not there.
    case bypass
    /// Balanced over these uplinks with these weights, in the config's balance mode.
    case balance([PolicyShare])
}

public struct PolicyShare: Sendable, Hashable, Codable {
    public var uplink: String
    public var weight: Int

    public init(uplink: String, weight: Int) {
        self.uplink = uplink
        self.weight = weight
    }
}

/// An inclusive range of TCP or UDP ports; a single port is a range of one.
public struct PortRange: Sendable, Hashable, Codable, Comparable, CustomStringConvertible {
    public var lower: UInt16
    public var upper: UInt16

    public init(_ lower: UInt16, _ upper: UInt16? = nil) {
        self.lower = lower
        self.upper = upper ?? lower
    }

    public func contains(_ other: PortRange) -> Bool { lower <= other.lower && other.upper <= upper }

    /// `80` or `8000-8080`, as nft writes them.
    public var description: String { lower == upper ? String(lower) : "\(lower)-\(upper)" }

    public static func < (a: PortRange, b: PortRange) -> Bool { (a.lower, a.upper) < (b.lower, b.upper) }
}

/// IP protocol numbers and the names nft and iptables give them.
public enum IPProtocolNumber {
    public static let icmp: UInt8 = 1
    public static let tcp: UInt8 = 6
    public static let udp: UInt8 = 17
    public static let icmpv6: UInt8 = 58

    /// nft's name (`ipv6-icmp` is how nft lists 58 in `meta l4proto`).
    public static func name(_ number: UInt8) -> String? {
        switch number {
        case icmp: return "icmp"
        case tcp: return "tcp"
        case udp: return "udp"
        case icmpv6: return "ipv6-icmp"
        default: return nil
        }
    }

    /// Whether the protocol exists in the family: icmp only in IPv4, icmpv6 only in IPv6.
    public static func exists(_ number: UInt8, in family: IPFamily) -> Bool {
        switch number {
        case icmp: return family == .ipv4
        case icmpv6: return family == .ipv6
        default: return true
        }
    }
}
