import UplinkCore

/// What uplinkctl needs of the kernel for one decision, read in one go: the interfaces and
/// routing, and our nft table with the ruleset generation it was read at. A value: a change is
/// planned from one snapshot and applied against it (the generation refuses it if another
/// program has committed since), and a long-running process reads a new one for each reaction.
public struct KernelSnapshot: Sendable {
    public let routing: RoutingSnapshot
    /// Read before the table, so that any commit after it shows as a newer generation.
    public let generation: UInt32?
    public let nftables: LiveNftTable?
    /// Every MPTCP path-manager endpoint and the limits; nil: no MPTCP in this kernel.
    public let mptcp: LiveMptcp?

    public var links: [String: InterfaceState] { routing.links }

    /// The plan's facts: the uplinks' addresses and the main table's default routes, read here,
    /// and the uplinks found dead, which a reading of the kernel cannot know.
    public func facts(_ config: Config, down: Set<String>) -> PlanFacts {
        // A service's interface that does not exist yet gets its route_localnet when it appears.
        let interfaces = config.uplinks.map(\.interface) + config.services.flatMap(\.interfaces)
        return PlanFacts(links: routing.links, routes: routing.foreignRoutes, down: down, interfaces: Array(Set(interfaces)).sorted())
    }
}
