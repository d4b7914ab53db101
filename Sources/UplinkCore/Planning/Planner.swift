/// Turns a valid config into the one value that describes every kernel object uplinkctl owns.
/// Pure: no clock, no kernel, no environment.
public enum Planner {
    /// Destinations never balanced whatever their route: loopback, link-local, multicast, broadcast.
    public static let neverBalancedIPv4: [IPPrefix] = ["127.0.0.0/8", "169.254.0.0/16", "224.0.0.0/4", "255.255.255.255/32"]
        .map { IPPrefix($0)! }

    public static func plan(_ config: Config) -> DesiredState {
        let weights = reducedWeights(config.uplinks.map(\.weight))
        let planned = zip(config.uplinks, weights).map { uplink, slots in
            PlannedUplink(uplink: uplink, slots: slots,
                          connectionCounter: "conns-\(uplink.name)")
        }
        return DesiredState(
            uplinks: planned,
            rules: routingRules(config),
            routes: config.uplinks.map { Route(table: $0.table, destination: .defaultRoute(.ipv4), gateway: $0.gateway, device: $0.interface) },
            nftables: NftPlanner(config: config, uplinks: planned).table(),
            sysctls: sysctls(config)
        )
    }

    /// In front of the fwmark rules, marked packets first try the main table without its default
    /// route, so the LAN and every directly reached network stay direct. `not fwmark 0/MASK`
    /// limits that rule to packets we marked; everything else routes exactly as before.
    static func routingRules(_ config: Config) -> [RoutingRule] {
        let exemption = RoutingRule(priority: config.rulePriority - 1, fwmark: MarkedBits(value: 0, mask: config.markMask),
                                    inverted: true, table: RoutingTable.main, suppressPrefixLength: 0)
        let marks = config.uplinks.map {
            RoutingRule(priority: config.rulePriority, fwmark: MarkedBits(value: $0.mark, mask: config.markMask), table: $0.table)
        }
        return [exemption] + marks
    }

    static func sysctls(_ config: Config) -> [Sysctl] {
        var settings = Set(config.uplinks.map { Sysctl.looseReversePath($0.interface) })
        if config.traffic.contains(.forwarded) { settings.insert(.ipForwarding()) }
        return Array(settings)
    }
}
