/// An ip rule of another program (one without our protocol tag), as read from the kernel: never
/// changed, but looked at for what apply refuses (a table or mark of ours it already uses) and
/// for what check and apply say about other policy routing (a VPN's rules, a tunnel's table).
public struct ForeignRule: Sendable, Hashable {
    public enum Action: Sendable, Hashable {
        /// `lookup TABLE`.
        case lookup(UInt32)
        /// `goto N`, `nop`, `blackhole`, `unreachable`, `prohibit`: as `ip rule` prints it.
        case other(String)
    }

    public var family: IPFamily
    public var priority: UInt32
    /// `not`: the selectors are inverted.
    public var inverted: Bool
    public var fwmark: MarkedBits?
    /// `iif NAME`: packets that arrived on NAME (`lo`: the host's own).
    public var inputInterface: String?
    /// `ipproto`: the transport protocol it matches.
    public var transportProtocol: UInt8?
    /// `sport` or `dport`: it matches by port.
    public var matchesPorts: Bool
    /// Every selector as `ip rule` prints it, in its order: "from all", "to 198.19.0.0/24",
    /// "fwmark 0xca6c", "iif guest0", "uidrange 1000-1000", "ipproto tcp", "dport 443".
    public var selectors: [String]
    public var action: Action
    public var suppressPrefixLength: Int?

    public init(
        family: IPFamily = .ipv4, priority: UInt32, inverted: Bool = false, fwmark: MarkedBits? = nil,
        inputInterface: String? = nil, transportProtocol: UInt8? = nil, matchesPorts: Bool = false,
        selectors: [String] = ["from all"], action: Action, suppressPrefixLength: Int? = nil
    ) {
        self.family = family
        self.priority = priority
        self.inverted = inverted
        self.fwmark = fwmark
        self.inputInterface = inputInterface
        self.transportProtocol = transportProtocol
        self.matchesPorts = matchesPorts
        self.selectors = selectors
        self.action = action
        self.suppressPrefixLength = suppressPrefixLength
    }

    /// The table it looks up, if its action is a lookup.
    public var table: UInt32? {
        if case .lookup(let table) = action { return table }
        return nil
    }

    /// Whether it sends what it matches somewhere other than the kernel's own tables: a table of
    /// its own (a VPN's, a tunnel's), or a drop (`unreachable`, `blackhole`, `prohibit`).
    public var leadsElsewhere: Bool {
        switch action {
        case .lookup(let table):
            return ![RoutingTable.main, RoutingTable.default, RoutingTable.local].contains(table)
        case .other(let verb):
            return ["blackhole", "unreachable", "prohibit"].contains(verb)
        }
    }

    /// As `ip rule show` prints it after "PRIORITY:": "not from all fwmark 0xca6c lookup 51820".
    public var description: String {
        var words = (inverted ? ["not"] : []) + selectors
        switch action {
        case .lookup(let table): words.append("lookup \(RoutingTable.name(table))")
        case .other(let verb): words.append(verb)
        }
        if let length = suppressPrefixLength { words.append("suppress_prefixlength \(length)") }
        return words.joined(separator: " ")
    }

    /// How messages name it: "ip rule 32765: not from all fwmark 0xca6c lookup 51820".
    public var shown: String { "\(family == .ipv6 ? "ip -6 rule" : "ip rule") \(priority): \(description)" }
}
