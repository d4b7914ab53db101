/// MPTCP's part of the plan: a `subflow` endpoint (with `signal` when announcing) for every
/// address of each uplink that carries subflows and is in the rotation, so that a dead
/// uplink's endpoint is withdrawn and no new subflow goes there; and the limits.
enum MptcpPlanner {
    static func plan(_ config: Config, facts: PlanFacts) -> MptcpPlan? {
        guard let settings = config.mptcp else { return nil }
        let carriers = config.uplinks.filter(\.mptcp)
        // An address on an interface two uplinks share belongs to neither alone (as for `from` rules).
        let endpoints = carriers.filter { uplink in
            !facts.down.contains(uplink.name) && config.uplinks.count(where: { $0.interface == uplink.interface }) == 1
        }.flatMap { uplink in
            uplink.families.flatMap { family in
                facts.addresses(of: uplink.interface, family: family).map {
                    MptcpEndpoint(address: $0, interface: uplink.interface, subflow: true, signal: settings.announce)
                }
            }
        }
        let fallback = UInt32(min(max(carriers.count - 1, 0), Int(MptcpLimits.maximum)))
        let limits = MptcpLimits(
            subflows: settings.subflows ?? fallback, addAddrAccepted: settings.addAddrAccepted ?? fallback)
        return MptcpPlan(endpoints: endpoints, limits: limits)
    }
}
