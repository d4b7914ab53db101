/// A chain: a base chain attached to a hook, or a regular chain reached by jump and goto.
public struct NftChain: Sendable, Hashable, Codable {
    public var name: String
    public var hook: NftHook?
    public var rules: [NftRule]

    public init(name: String, hook: NftHook? = nil, rules: [NftRule]) {
        self.name = name
        self.hook = hook
        self.rules = rules
    }
}

/// Where a base chain is attached.
public struct NftHook: Sendable, Hashable, Codable {
    public enum ChainType: String, Sendable, Codable { case filter, route, nat }
    public enum Point: String, Sendable, Codable { case prerouting, input, forward, output, postrouting }

    public var type: ChainType
    public var point: Point
    public var priority: Int32

    /// -150: after conntrack (-200), where iptables' mangle table sits.
    public static let manglePriority: Int32 = -150
    /// -100: where destination NAT happens.
    public static let dstnatPriority: Int32 = -100
    /// 100: where source NAT happens.
    public static let srcnatPriority: Int32 = 100

    public init(type: ChainType, point: Point, priority: Int32) {
        self.type = type
        self.point = point
        self.priority = priority
    }
}
