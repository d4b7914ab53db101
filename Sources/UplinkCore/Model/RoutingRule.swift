/// One policy routing rule (`ip rule`), carrying uplinkctl's protocol tag.
public struct RoutingRule: Sendable, Hashable, Codable, Comparable {
    public var family: IPFamily
    public var priority: UInt32
    /// Match packets whose mark, under the mask, equals the value.
    public var fwmark: MarkedBits?
    /// Match packets from this source (`from PREFIX`): sockets bound to an uplink's address.
    public var source: IPPrefix?
    /// Match the opposite of the selector (`not`).
    public var inverted: Bool
    public var table: UInt32
    /// Ignore routes in the table whose prefix is this long or shorter (0: the default route).
    public var suppressPrefixLength: Int?

    public init(
        family: IPFamily = .ipv4, priority: UInt32, fwmark: MarkedBits? = nil, source: IPPrefix? = nil,
        inverted: Bool = false, table: UInt32, suppressPrefixLength: Int? = nil
    ) {
        self.family = source?.family ?? family
        self.priority = priority
        self.fwmark = fwmark
        self.source = source
        self.inverted = inverted
        self.table = table
        self.suppressPrefixLength = suppressPrefixLength
    }

    public static func < (a: RoutingRule, b: RoutingRule) -> Bool {
        if (a.family, a.priority, a.table) != (b.family, b.priority, b.table) {
            return (a.family, a.priority, a.table) < (b.family, b.priority, b.table)
        }
        return (a.source?.description ?? "") < (b.source?.description ?? "")
    }
}

/// The kernel's own routing tables, by the names `ip` gives them.
public enum RoutingTable {
    public static let main: UInt32 = 254
    public static let local: UInt32 = 255
    public static let `default`: UInt32 = 253

    public static func name(_ table: UInt32) -> String {
        switch table {
        case main: return "main"
        case local: return "local"
        case `default`: return "default"
        default: return String(table)
        }
    }
}
