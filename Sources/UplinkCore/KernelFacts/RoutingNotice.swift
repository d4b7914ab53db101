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
    /// - Such rules, wherever they are, that select by what the route lookup for a forwarded
    ///   connection cannot see as that connection's own routing does (`blindSpot`).
    /// - With `defaultRoutes` (apply, which acts on this kernel): a family with no default route
    ///   by an uplink in a table the foreign rules reach, so nothing of it would be balanced.
    public static func notices(_ config: Config, foreignRules: [ForeignRule], defaultRoutes: [Route]? = nil)
        -> [RoutingNotice]
    {
        let families = Set(config.uplinks.flatMap(\.families))
        var notices: [RoutingNotice] = []
        for rule in foreignRules.sorted(by: { ($0.family, $0.priority) < ($1.family, $1.priority) })
        where families.contains(rule.family) && rule.leadsElsewhere {
            // uplinkctl's fwmark rules sit at rulePriority: whatever comes later never sees what they take.
            let after = rule.priority > config.rulePriority
            if after {
                notices.append(
                    RoutingNotice(
                        level: .note,
                        text: "\(rule.shown) comes after uplinkctl's rules (priority "
                            + "\(config.rulePriority)): new connections it sends by an "
                            + "interface that is not an uplink's are left alone, not balanced"))
            }
            if config.traffic.contains(.forwarded), let blindSpot = blindSpot(rule, after: after) {
                notices.append(RoutingNotice(level: .warning, text: blindSpot))
            }
        }
        if let defaultRoutes {
            notices += missingDefaults(config, families: families, foreignRules: foreignRules, routes: defaultRoutes)
        }
        return notices
    }

    /// The route lookup for a forwarded connection (`fib daddr . mark oifname`) is made as if
    /// from this host: input interface `lo`, no ports and, for IPv4, no protocol. A rule that
    /// selects by any of these applies to the lookup otherwise than to the connection's own
    /// routing. Either the rule catches connections the lookup misses (they are balanced, or,
    /// with the rule before uplinkctl's, take a slot and count on an uplink while they follow
    /// it), or the lookup sees the rule where the routing will not (those connections are left
    /// alone, and leave unbalanced by the routes after it).
    static func blindSpot(_ rule: ForeignRule, after: Bool) -> String? {
        let protocolUnseen = rule.family == .ipv4 && rule.transportProtocol != nil
        var unseen: [String] = []
        if let input = rule.inputInterface { unseen.append("input interface (iif \(input))") }
        if protocolUnseen { unseen.append("protocol") }
        if rule.matchesPorts { unseen.append("port") }
        guard !unseen.isEmpty else { return nil }
        let subject: String
        let fix: String
        // Whether the lookup, asking as if from `lo` without ports, finds the rule matching.
        let lookupMatches: Bool
        switch rule.inputInterface {
        case "lo"?:
            subject = "forwarded connections"
            fix = "`bypass` policies with the `in-interface` of each network whose traffic it is meant for"
            lookupMatches = !rule.inverted
        case let input?:
            subject = "connections arriving on \(input)"
            fix = "the policy `- {in-interface: \(input), bypass: true}`"
            lookupMatches = rule.inverted
        case nil:
            subject = "the connections it selects"
            fix = "a `bypass` policy with the same protocol and ports"
            lookupMatches = rule.inverted
        }
        let consequence: String
        if lookupMatches {
            consequence =
                "\(subject) are left alone though it does not apply to them; they leave, unbalanced, by the "
                + "routes after it"
        } else if after {
            consequence =
                "\(subject) are balanced whenever the main routing sends them by an uplink; to leave them to "
                + "this rule, add \(fix)"
        } else {
            consequence =
                "\(subject) still follow it, but take a balancing slot and count on an uplink; \(fix) avoids that"
        }
        let without = rule.family == .ipv4 ? "without ports or protocol" : "without ports"
        return
            "\(rule.shown) matches by \(unseen.joined(separator: " and ")), which the route lookup uplinkctl makes for "
            + "a forwarded connection cannot see as its routing does (it asks as if from this host, \(without)): "
            + consequence
    }

    /// The families without a default route by an uplink in the main table, or in a table a
    /// foreign rule looks up.
    static func missingDefaults(
        _ config: Config, families: Set<IPFamily>, foreignRules: [ForeignRule],
        routes: [Route]
    ) -> [RoutingNotice] {
        let interfaces = Set(config.uplinks.map(\.interface))
        let tables = Set([RoutingTable.main] + foreignRules.compactMap(\.table))
        return IPFamily.allCases.filter(families.contains).compactMap { family in
            let found = routes.contains { route in
                route.family == family && route.destination.isDefault && tables.contains(route.table)
                    && route.nexthops.contains { interfaces.contains($0.device) }
            }
            if found { return nil }
            let name = familyName(family)
            let command = family == .ipv4 ? "ip route show default" : "ip -6 route show default"
            return RoutingNotice(
                level: .warning,
                text: "no \(name) default route leaves by an uplink (\(command)): uplinkctl balances only connections "
                    + "whose route leaves by an uplink, so it balances no \(name) connection to the internet until "
                    + "one does (a DHCP or PPP client normally adds it; or `ip route add default via GATEWAY`)"
            )
        }
    }
}
