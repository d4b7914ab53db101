/// Every kernel object uplinkctl owns, as one value. Planning builds it from the config; the
/// kernel is read back into it; dry-run, apply, diff, flush and status all work from it.
public struct DesiredState: Sendable, Hashable, Codable {
    /// What the objects are for, per uplink: the names status and comments need.
    public var uplinks: [PlannedUplink]
    public var balance: BalanceMode
    public var rules: [RoutingRule]
    public var routes: [Route]
    public var nftables: NftTable
    public var sysctls: [Sysctl]
    /// What the services' chains and counters are for (`backend-api-1` is `services[0].backends[0]`).
    public var services: [Service]
    /// The MPTCP path manager's endpoints and limits; nil: left alone.
    public var mptcp: MptcpPlan?

    public init(
        uplinks: [PlannedUplink], balance: BalanceMode = .nth, rules: [RoutingRule], routes: [Route],
        nftables: NftTable,
        sysctls: [Sysctl], services: [Service] = [], mptcp: MptcpPlan? = nil
    ) {
        self.uplinks = uplinks
        self.mptcp = mptcp
        self.services = services
        self.balance = balance
        self.rules = rules.sorted()
        self.routes = routes.sorted()
        self.nftables = nftables
        self.sysctls = sysctls.sorted()
    }
}

/// One uplink as planned: its config and the names of the objects that belong to it.
public struct PlannedUplink: Sendable, Hashable, Codable {
    public var uplink: Uplink
    /// The reduced weight: how many of the balancing slots are this uplink's.
    public var slots: Int
    /// Counter of new connections balanced onto this uplink.
    public var connectionCounter: String
}
