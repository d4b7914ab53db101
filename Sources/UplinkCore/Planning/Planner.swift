/// Turns a valid config (and the uplinks' current addresses) into the one value that describes
/// every kernel object uplinkctl owns. Pure: no clock, no kernel, no environment.
public enum Planner {
    /// Destinations never balanced whatever their route: loopback, link-local, multicast, broadcast.
    /// (The goldens show every one of them.)
    public static func neverBalanced(_ family: IPFamily) -> [IPPrefix] {
        switch family {
        case .ipv4:
            return ["127.0.0.0/8", "169.254.0.0/16", "224.0.0.0/4", "255.255.255.255/32"].compactMap(IPPrefix.init)
        case .ipv6: return ["::1/128", "fe80::/10", "ff00::/8"].compactMap(IPPrefix.init)
        }
    }

    public static func plan(_ config: Config, facts: PlanFacts = PlanFacts()) -> DesiredState {
        let config = resolved(config, facts)
        let weights = reducedWeights(config.uplinks.map(\.weight))
        let planned = zip(config.uplinks, weights).map { uplink, slots in
            PlannedUplink(uplink: uplink, slots: slots, connectionCounter: "conns-\(uplink.name)")
        }
        return DesiredState(
            uplinks: planned,
            balance: config.balance,
            rules: routingRules(config, addresses: facts),
            routes: routes(config, down: facts.down, unroutable: facts.unroutable),
            nftables: NftPlanner(config: config, uplinks: planned, facts: facts).table(),
            sysctls: sysctls(config, facts: facts),
            services: config.services,
            mptcp: MptcpPlanner.plan(config, facts: facts)
        )
    }

    /// The config with every `gateway: auto` filled in from the facts (where a default route
    /// of the interface gives one); the rest of planning reads gateways from it.
    static func resolved(_ config: Config, _ facts: PlanFacts) -> Config {
        var config = config
        for index in config.uplinks.indices where config.uplinks[index].gatewayAuto {
            let uplink = config.uplinks[index]
            config.uplinks[index].gateways = uplink.families.compactMap { facts.gateway(of: uplink, $0) }
        }
        return config
    }

    /// The families any uplink carries.
    static func families(_ config: Config) -> [IPFamily] {
        IPFamily.allCases.filter { family in config.uplinks.contains { $0.carries(family) } }
    }

    /// Per family, at three priorities around `rulePriority` (P):
    /// - P-1: marked packets, and packets from an uplink's own address, first try the main table
    ///   without its default route, so the LAN and every directly reached network stay direct.
    ///   `not fwmark 0/MASK` limits that to packets we marked; everything else routes as before.
    /// - P: each mark leads to its uplink's table (and the ECMP mark to the multipath table).
    /// - P+1: a socket bound to an uplink's address leaves by that uplink, marked or not.
    static func routingRules(_ config: Config, addresses: PlanFacts) -> [RoutingRule] {
        let p = config.rulePriority
        var rules: [RoutingRule] = []
        for family in families(config) {
            rules.append(
                RoutingRule(
                    family: family, priority: p - 1, fwmark: MarkedBits(value: 0, mask: config.markMask),
                    inverted: true, table: RoutingTable.main, suppressPrefixLength: 0))
            for uplink in config.uplinks where uplink.carries(family) {
                rules.append(
                    RoutingRule(
                        family: family, priority: p, fwmark: MarkedBits(value: uplink.mark, mask: config.markMask),
                        table: uplink.table))
                // An address on an interface two uplinks share belongs to neither alone.
                guard config.uplinks.count(where: { $0.interface == uplink.interface }) == 1 else { continue }
                for address in addresses.addresses(of: uplink.interface, family: family) {
                    let host = IPPrefix(host: address)
                    rules.append(
                        RoutingRule(priority: p - 1, source: host, table: RoutingTable.main, suppressPrefixLength: 0))
                    rules.append(RoutingRule(priority: p + 1, source: host, table: uplink.table))
                }
            }
            if let ecmp = config.ecmp {
                rules.append(
                    RoutingRule(
                        family: family, priority: p, fwmark: MarkedBits(value: ecmp.mark, mask: config.markMask),
                        table: ecmp.table))
            }
        }
        return rules
    }

    /// A default route per uplink and family in the uplink's table; with ECMP, one weighted
    /// multipath default route per family over every uplink that carries it and is not down
    /// (all of them if every one is).
    static func routes(_ config: Config, down: Set<String> = [], unroutable: Set<String> = []) -> [Route] {
        var routes: [Route] = []
        // An interface the kernel takes no route through, or `gateway: auto` without a gateway
        // yet (by device it would be wrong): no route.
        func routable(_ uplink: Uplink, _ family: IPFamily) -> Bool {
            !unroutable.contains(uplink.interface) && !(uplink.gatewayAuto && uplink.gateway(family) == nil)
        }
        for (index, uplink) in config.uplinks.enumerated() {
            for family in uplink.families where routable(uplink, family) {
                routes.append(
                    Route(
                        table: uplink.table, destination: .defaultRoute(family), gateway: uplink.gateway(family),
                        device: uplink.interface, realm: family == .ipv4 ? realm(slot: index) : nil))
            }
        }
        if let ecmp = config.ecmp {
            for family in families(config) {
                let carriers = config.uplinks.filter { $0.carries(family) && routable($0, family) }
                let live = carriers.filter { !down.contains($0.name) }
                let members = live.isEmpty ? carriers : live
                let weights = reducedWeights(members.map(\.weight))
                let nexthops = zip(members, weights).map {
                    Nexthop(gateway: $0.gateway(family), device: $0.interface, weight: $1)
                }
                routes.append(Route(table: ecmp.table, destination: .defaultRoute(family), nexthops: nexthops))
            }
        }
        return routes
    }

    /// The realm of the uplink in this slot: 1, 2, 3, … (0 means none to the kernel).
    static func realm(slot: Int) -> UInt16 { UInt16(slot + 1) }

    static func sysctls(_ config: Config, facts: PlanFacts) -> [Sysctl] {
        // rp_filter exists for IPv4 only; IPv6 has no reverse-path sysctl. A missing interface
        // has none until it comes back.
        var settings = Set(
            config.uplinks.filter { $0.carries(.ipv4) && !facts.absent.contains($0.interface) }
                .map { Sysctl.looseReversePath($0.interface) })
        let families = families(config)
        if config.traffic.contains(.forwarded) {
            if families.contains(.ipv4) { settings.insert(.ipForwarding()) }
            if families.contains(.ipv6) { settings.insert(.ipv6Forwarding()) }
        }
        if config.ecmp != nil {
            for family in families { settings.insert(.multipathLayer4Hash(family)) }
        }
        settings.formUnion(ServicePlanner(config: config, facts: facts).sysctls())
        if config.mptcp != nil { settings.insert(.mptcpEnabled()) }
        return Array(settings)
    }
}
