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

    /// The plan's facts (RoutingSnapshot.facts).
    public func facts(_ config: Config, down: Set<String>) -> PlanFacts {
        routing.facts(config, down: down)
    }
}
