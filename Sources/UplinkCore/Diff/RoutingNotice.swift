/// What check and apply say about the rest of the host's policy routing, which decides what
/// uplinkctl balances: a new connection is balanced only when its route, without uplinkctl,
/// leaves by an uplink (README, "Living with other policy routing").
public struct RoutingNotice: Sendable, Hashable, CustomStringConvertible {
    public enum Level: String, Sendable {
        /// Working as designed; worth knowing.
        case note
        /// Probably not what the user wants.
        case warning
    }

    public var level: Level
    public var text: String

    public var description: String { "\(level.rawValue): \(text)" }

    /// - Rules of other programs after uplinkctl's that send traffic elsewhere (a VPN's table):
    ///   the connections they route by another interface are left alone.
    /// - Such rules that match by input interface: the route lookup for a forwarded connection is
    ///   made as if from this host, so it cannot see them, and those connections are balanced.
    /// - With `defaultRoutes` (apply, which acts on this kernel): a family with no default route
    ///   by an uplink in a table the foreign rules reach, so nothing of it would be balanced.
    public static func notices(_ config: Config, foreignRules: [ForeignRule], defaultRoutes: [Route]? = nil) -> [RoutingNotice] {
        let families = Set(config.uplinks.flatMap(\.families))
        let ours = "uplinkctl's rules (priority \(config.rulePriority))"
        var notices: [RoutingNotice] = []
        for rule in foreignRules.sorted(by: { ($0.family, $0.priority) < ($1.family, $1.priority) })
        where families.contains(rule.family) && rule.priority > config.rulePriority + 1 && rule.leadsElsewhere {
            notices.append(RoutingNotice(level: .note, text: "\(rule.shown) comes after \(ours): new connections it sends "
                + "by an interface that is not an uplink's are left alone, not balanced"))
            guard config.traffic.contains(.forwarded), let input = rule.inputInterface, input != "lo" else { continue }
            notices.append(RoutingNotice(level: .warning, text: "\(rule.shown) matches by input interface, which the route "
                + "lookup uplinkctl makes for a forwarded connection cannot see (it asks as if from this host): connections "
                + "arriving on \(input) are balanced whenever the main routing sends them by an uplink; to leave them to "
                + "this rule, add the policy `- {in-interface: \(input), bypass: true}`"))
        }
        if let defaultRoutes {
            notices += missingDefaults(config, families: families, foreignRules: foreignRules, routes: defaultRoutes)
        }
        return notices
    }

    /// The families without a default route by an uplink in the main table, or in a table a
    /// foreign rule looks up.
    static func missingDefaults(_ config: Config, families: Set<IPFamily>, foreignRules: [ForeignRule],
                                routes: [Route]) -> [RoutingNotice] {
        let interfaces = Set(config.uplinks.map(\.interface))
        let tables = Set([RoutingTable.main] + foreignRules.compactMap(\.table))
        return IPFamily.allCases.filter(families.contains).compactMap { family in
            let found = routes.contains { route in
                route.family == family && route.destination.isDefault && tables.contains(route.table)
                    && route.nexthops.contains { interfaces.contains($0.device) }
            }
            if found { return nil }
            let name = family == .ipv4 ? "IPv4" : "IPv6"
            let command = family == .ipv4 ? "ip route show default" : "ip -6 route show default"
            return RoutingNotice(level: .warning, text: "no \(name) default route leaves by an uplink (\(command)): uplinkctl "
                + "balances only connections whose route leaves by an uplink, so it balances no \(name) connection to the "
                + "internet until one does (a DHCP or PPP client normally adds it; or `ip route add default via GATEWAY`)")
        }
    }
}
