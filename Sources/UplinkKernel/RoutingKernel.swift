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


    /// Our rules of the family, in the model's form.
    public func ownedRules(_ family: IPFamily = .ipv4) throws -> [RoutingRule] {
        try RuleNetlink(socket: socket).dump(family).filter { $0.isOurs && $0.isPlain }.map(\.rule).sorted()
    }

    /// Rules with our tag that are not of the kind uplinkctl writes (made by hand, or by a
    /// newer version): ours to remove.
    public func unknownOwnedRules(_ family: IPFamily = .ipv4) throws -> [UnknownRule] {
        try RuleNetlink(socket: socket).dump(family).filter { $0.isOurs && !$0.isPlain }.map {
            UnknownRule(priority: $0.rule.priority, table: $0.rule.table, message: $0.message)
        }
    }

    func delete(_ rule: UnknownRule) throws {
        try RuleNetlink(socket: socket).resend(rule.message, type: Int(RTM_DELRULE), flags: 0, object: rule.deletion)
    }

    func recreate(_ rule: UnknownRule) throws {
        try RuleNetlink(socket: socket).resend(rule.message, type: Int(RTM_NEWRULE), flags: Int32(NLM_F_CREATE | NLM_F_EXCL), object: "recreate " + rule.deletion)
    }

    /// Rules of other programs: never changed, but checked for clashes.
    public func foreignRules(_ family: IPFamily = .ipv4) throws -> [RoutingRule] {
        try RuleNetlink(socket: socket).dump(family).filter { !$0.isOurs }.map(\.rule)
    }

    /// Our routes of the family in every table.
    public func ownedRoutes(_ family: IPFamily = .ipv4) throws -> [Route] {
        try RouteNetlink(socket: socket, interfaces: interfaces).dump(family).filter(\.isOurs).map(\.route).sorted()
    }

    public func add(_ rule: RoutingRule) throws { try RuleNetlink(socket: socket).add(rule) }
    public func delete(_ rule: RoutingRule) throws { try RuleNetlink(socket: socket).delete(rule) }
    /// Routes of other programs, in every table: never changed, but checked for clashes.
    public func foreignRoutes(_ family: IPFamily = .ipv4) throws -> [Route] {
        try RouteNetlink(socket: socket, interfaces: interfaces).dump(family).filter { !$0.isOurs }.map(\.route)
    }

    public func add(_ route: Route) throws { try RouteNetlink(socket: socket, interfaces: interfaces).add(route) }
    public func replace(_ route: Route) throws { try RouteNetlink(socket: socket, interfaces: interfaces).replace(route) }
    func sendRefusedRequest() throws { try RouteNetlink(socket: socket, interfaces: interfaces).sendRefusedRequest() }
    public func delete(_ route: Route) throws { try RouteNetlink(socket: socket, interfaces: interfaces).delete(route) }
}
