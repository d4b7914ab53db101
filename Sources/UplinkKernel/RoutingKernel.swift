import CNetlink
import UplinkCore

/// The routing half of the kernel, bound to one network namespace: uplinkctl's own ip rules
/// and routes (those carrying its protocol tag), read and changed over rtnetlink.
public final class RoutingKernel {
    private let socket: NetlinkSocket
    private let interfaces: [String: UInt32]

    /// Opens the rtnetlink socket inside `namespace` (nil: the caller's own).
    public init(namespace: String?) throws {
        let socket = try NetworkNamespace.run(namespace) { try NetlinkSocket(NETLINK_ROUTE) }
        self.socket = socket
        self.links = try LinkNetlink(socket: socket).links()
        self.interfaces = links.mapValues(\.index)
    }

    /// The interfaces of the namespace when this was opened, by name.
    public let links: [String: InterfaceState]


    /// Every rule and route of the families (both unless told), from one dump each per family,
    /// sorted into ours and foreign.
    public func snapshot() throws -> RoutingSnapshot {
        let families = IPFamily.allCases
        let rules = try families.flatMap { try RuleNetlink(socket: socket).dump($0) }
        let routes = try families.flatMap { try RouteNetlink(socket: socket, interfaces: interfaces).dump($0) }
        return RoutingSnapshot(
            ownedRules: rules.filter { $0.isOurs && $0.isPlain }.map(\.rule).sorted(),
            unknownOwnedRules: rules.filter { $0.isOurs && !$0.isPlain }.map {
                UnknownRule(priority: $0.rule.priority, table: $0.rule.table, message: $0.message)
            },
            foreignRules: rules.compactMap(\.foreign),
            ownedRoutes: routes.filter(\.isOurs).map(\.route).sorted(),
            foreignRoutes: routes.filter { !$0.isOurs }.map(\.route))
    }

    /// Other programs' rules alone, of both families: what check looks at.
    public func foreignRules() throws -> [ForeignRule] {
        try IPFamily.allCases.flatMap { try RuleNetlink(socket: socket).dump($0) }.compactMap(\.foreign)
    }

    func delete(_ rule: UnknownRule) throws {
        try RuleNetlink(socket: socket).resend(rule.message, type: Int(RTM_DELRULE), flags: 0, object: rule.deletion)
    }

    func recreate(_ rule: UnknownRule) throws {
        try RuleNetlink(socket: socket).resend(rule.message, type: Int(RTM_NEWRULE), flags: Int32(NLM_F_CREATE | NLM_F_EXCL), object: "recreate " + rule.deletion)
    }

    public func add(_ rule: RoutingRule) throws { try RuleNetlink(socket: socket).add(rule) }
    public func delete(_ rule: RoutingRule) throws { try RuleNetlink(socket: socket).delete(rule) }
    public func add(_ route: Route) throws { try RouteNetlink(socket: socket, interfaces: interfaces).add(route) }
    public func replace(_ route: Route) throws { try RouteNetlink(socket: socket, interfaces: interfaces).replace(route) }
    func sendRefusedRequest() throws { try RouteNetlink(socket: socket, interfaces: interfaces).sendRefusedRequest() }
    public func delete(_ route: Route) throws { try RouteNetlink(socket: socket, interfaces: interfaces).delete(route) }
}

/// The routing state: ours (protocol 117) and everything else.
public struct RoutingSnapshot {
    public let ownedRules: [RoutingRule]
    /// Rules with our tag that are not of the kind uplinkctl writes: ours to remove.
    public let unknownOwnedRules: [UnknownRule]
    /// Rules of other programs: never changed, but checked for clashes.
    public let foreignRules: [ForeignRule]
    public let ownedRoutes: [Route]
    /// Routes of other programs (any type) in every table: never changed, checked for clashes.
    public let foreignRoutes: [Route]
}
