/// How new connections are spread over the uplinks.
public enum BalanceMode: String, Sendable, Hashable, Codable, CaseIterable {
    /// Round-robin in the smooth weighted order: the k-th new connection takes slot k mod W.
    case nth
    /// Each new connection picks a slot at random: uplink i with probability w_i / W.
    case random
}

/// Which new connections are balanced.
public enum TrafficKind: String, Sendable, Hashable, Codable, CaseIterable, Comparable {
    /// Connections this host opens itself (the output hook).
    case local
    /// Connections routed through this host, from its LAN (the prerouting hook).
    case forwarded

    public static func < (a: TrafficKind, b: TrafficKind) -> Bool { a == .local && b == .forwarded }
}

/// One uplink, with every default already filled in.
public struct Uplink: Sendable, Hashable, Codable {
    public var name: String
    public var interface: String
    /// Nil on point-to-point links: the route goes by device only.
    public var gateway: IPAddress?
    public var weight: Int
    public var mark: UInt32
    public var table: UInt32
    public var masquerade: Bool

    public init(name: String, interface: String, gateway: IPAddress?, weight: Int, mark: UInt32, table: UInt32, masquerade: Bool) {
        self.name = name
        self.interface = interface
        self.gateway = gateway
        self.weight = weight
        self.mark = mark
        self.table = table
        self.masquerade = masquerade
    }
}

/// A valid configuration: what `check` accepts and every other command starts from.
public struct Config: Sendable, Hashable, Codable {
    public var balance: BalanceMode
    public var traffic: Set<TrafficKind>
    public var markMask: UInt32
    public var rulePriority: UInt32
    /// In slot order.
    public var uplinks: [Uplink]

    public static let defaultMarkMask: UInt32 = 0xff00
    public static let defaultRulePriority: UInt32 = 31000
    public static let defaultPath = "/etc/uplinkctl/uplinks.yaml"

    public init(balance: BalanceMode = .nth, traffic: Set<TrafficKind> = [.local, .forwarded],
                markMask: UInt32 = Config.defaultMarkMask, rulePriority: UInt32 = Config.defaultRulePriority,
                uplinks: [Uplink]) {
        self.balance = balance
        self.traffic = traffic
        self.markMask = markMask
        self.rulePriority = rulePriority
        self.uplinks = uplinks
    }
}
