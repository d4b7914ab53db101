/// The iproute2 and sysctl(8) commands that create or remove routing objects: the shared
/// part of both dry-run forms and the language diff speaks in.
public enum IPCommands {
    public enum Verb: String { case add, replace, del }

    public static func rule(_ rule: RoutingRule, _ verb: Verb = .add) -> [String] {
        var arguments = ["ip"] + familyFlag(rule.family) + ["rule", verb.rawValue]
        if rule.inverted { arguments.append("not") }
        if let source = rule.source { arguments += ["from", source.description] }
        if let fwmark = rule.fwmark { arguments += ["fwmark", fwmark.description] }
        arguments += ["lookup", RoutingTable.name(rule.table)]
        if let length = rule.suppressPrefixLength { arguments += ["suppress_prefixlength", String(length)] }
        arguments += ["priority", String(rule.priority), "protocol", String(Ownership.routeProtocol)]
        return arguments
    }

    public static func route(_ route: Route, _ verb: Verb = .add) -> [String] {
        var arguments = ["ip"] + familyFlag(route.family) + ["route", verb.rawValue]
        arguments.append(route.destination.isDefault ? "default" : route.destination.description)
        if !route.isMultipath, let nexthop = route.nexthops.first { arguments += nexthopArguments(nexthop) }
        arguments += ["table", RoutingTable.name(route.table), "proto", String(Ownership.routeProtocol)]
        if let realm = route.realm { arguments += ["realm", String(realm)] }
        if route.isMultipath {
            for nexthop in route.nexthops {
                arguments += ["nexthop"] + nexthopArguments(nexthop) + ["weight", String(nexthop.weight)]
            }
        }
        return arguments
    }

    public static func mptcpEndpoint(_ endpoint: MptcpEndpoint) -> [String] {
        ["ip", "mptcp", "endpoint", "add", endpoint.address.description, "dev", endpoint.interface] + endpoint.flagWords
    }

    public static func mptcpEndpointDeletion(id: UInt8) -> [String] {
        ["ip", "mptcp", "endpoint", "delete", "id", String(id)]
    }

    public static func mptcpLimits(_ limits: MptcpLimits) -> [String] {
        [
            "ip", "mptcp", "limits", "set", "subflows", String(limits.subflows),
            "add_addr_accepted", String(limits.addAddrAccepted)
        ]
    }

    /// `sysctl -w KEY=VALUE`, or, for a setting sysctl(8) cannot name cleanly, a write to its
    /// file under /proc/sys: an interface may be named `a=b` (sysctl reads the first '=' as the
    /// start of the value) or `a..b`, `.a`, `a.` (it warns that separators are repeated).
    public static func sysctl(_ setting: Sysctl) -> [String] {
        let key = setting.key
        guard key.contains("=") || ["..", "//", "./", "/."].contains(where: key.contains) else {
            return ["sysctl", "-w", "\(key)=\(setting.value)"]
        }
        return ["sh", "-c", #"echo "$1" > "$2""#, "sh", setting.value, setting.procPath]
    }

    private static func nexthopArguments(_ nexthop: Nexthop) -> [String] {
        (nexthop.gateway.map { ["via", $0.description] } ?? []) + ["dev", nexthop.device]
    }

    private static func familyFlag(_ family: IPFamily) -> [String] { family == .ipv6 ? ["-6"] : [] }
}
