/// What must hold before apply changes anything, checked against the kernel's facts so that a
/// doomed apply stops with every problem named and nothing touched.
public enum Preflight {
    /// An uplink that `run` took out (`down`) may lack its interface, have it down, or (with
    /// `gateway: auto`) have no gateway yet: it is out of the rotation until that changes.
    public static func problems(
        _ config: Config, interfaces: [String: InterfaceState], foreignRules: [ForeignRule],
        foreignRoutes: [Route], down: Set<String> = []
    ) -> [String] {
        var problems: [String] = []
        let facts = PlanFacts(links: interfaces, routes: foreignRoutes)
        for uplink in config.uplinks {
            if !down.contains(uplink.name) {
                guard let interface = interfaces[uplink.interface] else {
                    problems.append("uplink \(uplink.name): interface \(uplink.interface) does not exist")
                    continue
                }
                problems += linkProblems(uplink, interface, facts)
            }
            problems += clashes(
                "uplink \(uplink.name)", table: uplink.table, tableKey: "table", mark: uplink.mark, config,
                foreignRules, foreignRoutes)
        }
        if let ecmp = config.ecmp {
            problems += clashes(
                "the multipath route (balance: ecmp)", table: ecmp.table, tableKey: "ecmp-table", mark: ecmp.mark,
                config, foreignRules, foreignRoutes)
        }
        return problems
    }

    /// An interface down, no gateway yet (`gateway: auto`), a gateway off the interface's networks.
    static func linkProblems(_ uplink: Uplink, _ interface: InterfaceState, _ facts: PlanFacts) -> [String] {
        var problems: [String] = []
        if !interface.isUp {
            problems.append(
                "uplink \(uplink.name): interface \(uplink.interface) is down (ip link set \(uplink.interface) up)")
        }
        for family in uplink.families where uplink.gatewayAuto && facts.gateway(of: uplink, family) == nil {
            problems.append(
                "uplink \(uplink.name): 'gateway: auto', and no \(familyName(family)) default route leaves by "
                    + "\(uplink.interface) yet (ip \(family == .ipv6 ? "-6 " : "")route show default dev "
                    + "\(uplink.interface)); its DHCP or PPP client installs one once it has a lease: is it running?"
            )
        }
        for gateway in uplink.gateways where !Self.reaches(interface, gateway) {
            let networks = interface.addresses.filter { $0.family == gateway.family }.map(\.description).joined(
                separator: ", ")
            let none = "no \(familyName(gateway.family)) address"
            problems.append(
                "uplink \(uplink.name): gateway \(gateway) is not on a network of "
                    + "\(uplink.interface) (it has \(networks.isEmpty ? none : networks))"
            )
        }
        return problems
    }

    /// A table of ours that foreign rules or routes already use, or a mark of ours that a
    /// foreign fwmark rule in front of ours would catch.
    static func clashes(
        _ owner: String, table: UInt32, tableKey: String, mark: UInt32, _ config: Config,
        _ foreignRules: [ForeignRule], _ foreignRoutes: [Route]
    ) -> [String] {
        var problems: [String] = []
        for rule in foreignRules where rule.table == table {
            problems.append(
                "\(owner): table \(RoutingTable.name(table)) is already used by a rule "
                    + "that is not ours (\(rule.shown)); choose another with `\(tableKey):`"
            )
        }
        if foreignRoutes.contains(where: { $0.table == table }) {
            problems.append(
                "\(owner): table \(RoutingTable.name(table)) already holds routes that are not "
                    + "ours (ip route show table \(table)); choose another with `\(tableKey):`"
            )
        }
        let ours = MarkedBits(value: mark, mask: config.markMask)
        for rule in foreignRules where rule.priority <= config.rulePriority {
            guard let foreign = rule.fwmark, Self.catches(inverted: rule.inverted, foreign, ours) else { continue }
            problems.append(
                "\(owner): mark \(ours) is already used by a rule that is not "
                    + "ours (\(rule.shown)); choose another mark-mask or mark"
            )
        }
        return problems
    }
}

extension Preflight {
    /// Whether the gateway is on a network of the interface. An IPv6 link-local gateway (what
    /// router advertisements give, fe80::1) is on every IPv6 link, without an address of ours.
    static func reaches(_ interface: InterfaceState, _ gateway: IPAddress) -> Bool {
        if gateway.family == .ipv6 && gateway.isLinkLocal { return true }
        return interface.addresses.contains { $0.family == gateway.family && $0.contains(gateway) }
    }

    /// Whether a foreign fwmark rule in front of ours would take packets carrying our mark: it
    /// looks at bits of our mask, and on those bits it matches our value (or, for `not`, does not).
    static func catches(inverted: Bool, _ mark: MarkedBits, _ ours: MarkedBits) -> Bool {
        let shared = mark.mask & ours.mask
        guard shared != 0 else { return false }
        let agrees = (ours.value ^ mark.value) & shared == 0
        return inverted ? !agrees : agrees
    }
}

extension Preflight {
    /// What stops uplinkctl from setting up MPTCP: no path manager in this kernel, or an
    /// endpoint for one of the uplinks' addresses that is not uplinkctl's (never taken over).
    public static func mptcpProblems(_ plan: MptcpPlan?, kernel: LiveMptcp?, ours: LiveMptcp?) -> [String] {
        guard let plan else { return [] }
        guard let kernel else {
            return [
                "mptcp: this kernel has no MPTCP path manager (CONFIG_MPTCP, or net.mptcp is missing); "
                    + "drop 'mptcp: true'"
            ]
        }
        let owned = ours?.endpoints ?? []
        return plan.endpoints.compactMap { wanted in
            guard let other = kernel.endpoints.first(where: { $0.endpoint.address == wanted.address }),
                !owned.contains(other)
            else { return nil }
            return "mptcp: the path manager already has an endpoint for \(wanted.address) that uplinkctl did not add "
                + "(ip mptcp endpoint show: id \(other.id)); remove it (ip mptcp endpoint delete id \(other.id)), "
                + "or give its uplink 'mptcp: false'"
        }
    }
}
