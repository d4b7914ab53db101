/// What the kernel holds of ours, read back into the model: our ip rules and routes (our
/// protocol tag), our nft table, and the current values of the sysctls we manage.
public struct LiveState: Sendable, Hashable {
    public var rules: [RoutingRule]
    /// Rules with our tag that uplinkctl does not write (other selectors or actions): removed.
    public var unknownRules: [UnknownRule] = []
    public var routes: [Route]
    /// Nil when the table does not exist.
    public var nftables: LiveNftTable?
    /// The current value of every sysctl the desired state names or the record holds.
    public var sysctls: [Sysctl]
    /// The MPTCP endpoints uplinkctl added (by its record) and the limits; nil: this kernel has
    /// no MPTCP path manager.
    public var mptcp: LiveMptcp?

    public init(rules: [RoutingRule], routes: [Route], nftables: LiveNftTable?, sysctls: [Sysctl]) {
        self.rules = rules.sorted()
        self.routes = routes.sorted()
        self.nftables = nftables
        self.sysctls = sysctls.sorted()
    }
}

/// Our nft table as listed: sets, maps and chains in the model's form; rules with the handles
/// they have and the exact expressions the kernel runs.
public struct LiveNftTable: Sendable, Hashable {
    public var counters: [String]
    public var sets: [NftSet]
    public var maps: [NftVerdictMap]
    /// Sets and maps in our table that are not of a kind uplinkctl writes: they will be replaced.
    public var unreadableSets: [String]
    public var chains: [LiveNftChain]
    /// The names of every set and map, in the kernel's order (which `nft list` keeps).
    public var setOrder: [String]

    public init(
        counters: [String], sets: [NftSet], maps: [NftVerdictMap], unreadableSets: [String],
        chains: [LiveNftChain], setOrder: [String] = []
    ) {
        self.counters = counters
        self.sets = sets
        self.maps = maps
        self.unreadableSets = unreadableSets
        self.chains = chains
        self.setOrder = setOrder
    }

    public func chain(named name: String) -> LiveNftChain? { chains.first { $0.name == name } }

    /// The same table in the planning model (rules outside our vocabulary left out).
    public var model: NftTable {
        NftTable(
            counters: counters, sets: sets, maps: maps,
            chains: chains.map { NftChain(name: $0.name, hook: $0.hook, rules: $0.rules.compactMap(\.rule)) })
    }
}

public struct LiveNftChain: Sendable, Hashable {
    public var name: String
    public var hook: NftHook?
    /// False when the chain is a base chain we cannot describe (another type, hook or policy).
    public var hookReadable: Bool
    public var rules: [LiveNftRule]

    public init(name: String, hook: NftHook?, hookReadable: Bool = true, rules: [LiveNftRule]) {
        self.name = name
        self.hook = hook
        self.hookReadable = hookReadable
        self.rules = rules
    }
}

public struct LiveNftRule: Sendable, Hashable {
    public var handle: UInt64
    public var expressions: [NftExpression]

    public init(handle: UInt64, expressions: [NftExpression]) {
        self.handle = handle
        self.expressions = expressions
    }

    /// The rule in the model's vocabulary, when it is one uplinkctl writes.
    public var rule: NftRule? { NftRuleDecoding.rule(expressions) }

    /// How diff names it: the nft text, or the raw expressions of a rule we do not know.
    public var text: String {
        rule.map(NftText.rule) ?? expressions.map(\.description).joined(separator: " ")
    }
}

/// An ip rule carrying our protocol tag that is not of the kind uplinkctl writes, kept as the
/// kernel dumped it, so that it can be removed (or put back) exactly.
public struct UnknownRule: Sendable, Hashable {
    public var priority: UInt32
    public var table: UInt32
    public var message: [UInt8]

    public init(priority: UInt32, table: UInt32, message: [UInt8]) {
        self.priority = priority
        self.table = table
        self.message = message
    }

    /// From the rtmsg's family byte, right after the 16-byte netlink header.
    public var family: IPFamily { message.count > 16 && message[16] == 10 ? .ipv6 : .ipv4 }

    /// How diff names its removal.
    public var deletion: String {
        "ip \(family == .ipv6 ? "-6 " : "")rule del priority \(priority) lookup \(RoutingTable.name(table)) "
            + "protocol \(Ownership.routeProtocol) # with selectors uplinkctl does not write"
    }
}
