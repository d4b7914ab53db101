import CNetlink
import Glibc
import UplinkCore

/// The routing half of the kernel, bound to one network namespace: interfaces, ip rules and
/// routes, read over rtnetlink and changed by uplinkctl only where they carry its protocol tag.
/// It keeps nothing between calls: every read is of the kernel as it is now.
public final class RoutingKernel {
    private let socket: any NetlinkTransport

    /// Opens the rtnetlink socket inside `namespace` (nil: the caller's own).
    public convenience init(namespace: String?) throws {
        self.init(socket: try NetworkNamespace.run(namespace) { try NetlinkSocket(NETLINK_ROUTE) })
    }

    /// `socket`: an rtnetlink socket of the namespace.
    init(socket: any NetlinkTransport) {
        self.socket = socket
    }

    /// The namespace's interfaces, with their addresses, by name.
    public func links() throws -> [String: InterfaceState] { try LinkNetlink(socket: socket).links() }

    /// The interfaces, and every rule and route of both families (one dump each), sorted into
    /// ours and foreign.
    public func snapshot() throws -> RoutingSnapshot {
        let links = try links()
        let rules = try ruleDump()
        let routes = try IPFamily.allCases.flatMap { try routeNetlink(links).dump($0) }
        return RoutingSnapshot(
            links: links,
            ownedRules: rules.filter { $0.isOurs && $0.isPlain }.map(\.rule).sorted(),
            unknownOwnedRules: rules.filter { $0.isOurs && !$0.isPlain }.map {
                UnknownRule(priority: $0.rule.priority, table: $0.rule.table, message: $0.message)
            },
            foreignRules: rules.compactMap(\.foreign),
            ruleOrder: RuleOrder(
                entries: rules.filter(\.isOurs).map { live in
                    let dumped = UnknownRule(
                        priority: live.rule.priority, table: live.rule.table, message: live.message)
                    return RuleOrder.Entry(rule: live.isPlain ? live.rule : nil, dumped: dumped)
                }),
            ownedRoutes: routes.filter(\.isOurs).map(\.route).sorted(),
            foreignRoutes: routes.filter { !$0.isOurs }.map(\.route))
    }

    /// Other programs' rules alone, of both families: what check looks at.
    public func foreignRules() throws -> [ForeignRule] { try ruleDump().compactMap(\.foreign) }

    private func ruleDump() throws -> [LiveRule] {
        try IPFamily.allCases.flatMap { try RuleNetlink(socket: socket).dump($0) }
    }

    func delete(_ rule: UnknownRule) throws {
        try RuleNetlink(socket: socket).resend(rule.message, type: Int(RTM_DELRULE), flags: 0, object: rule.deletion)
    }

    func recreate(_ rule: UnknownRule) throws {
        try RuleNetlink(socket: socket).resend(
            rule.message, type: Int(RTM_NEWRULE), flags: Int32(NLM_F_CREATE | NLM_F_EXCL),
            object: "recreate " + rule.deletion)
    }

    public func add(_ rule: RoutingRule) throws { try RuleNetlink(socket: socket).add(rule) }

    /// Moves each of `rules` (ours, as dumped) that is here now behind the others of its
    /// priority, in order: see RuleOrder.
    func moveToEnd(_ rules: [UnknownRule]) throws {
        for rule in rules {
            do {
                try delete(rule)
            } catch let refusal as KernelRefusal where refusal.errno == ENOENT {
                continue
            }
            try recreate(rule)
        }
    }
    public func delete(_ rule: RoutingRule) throws { try RuleNetlink(socket: socket).delete(rule) }

    /// Routes name their interfaces; `links` (of the snapshot the change was planned from) gives
    /// their indexes.
    public func add(_ route: Route, links: [String: InterfaceState]) throws { try routeNetlink(links).add(route) }
    public func replace(_ route: Route, links: [String: InterfaceState]) throws {
        try routeNetlink(links).replace(route)
    }
    public func delete(_ route: Route, links: [String: InterfaceState]) throws { try routeNetlink(links).delete(route) }

    private func routeNetlink(_ links: [String: InterfaceState]) -> RouteNetlink {
        RouteNetlink(socket: socket, interfaces: links.mapValues(\.index))
    }
}

/// The routing state at one moment: interfaces, ours (protocol 117) and everything else.
public struct RoutingSnapshot: Sendable {
    public let links: [String: InterfaceState]
    public let ownedRules: [RoutingRule]
    /// Rules with our tag that are not of the kind uplinkctl writes: ours to remove.
    public let unknownOwnedRules: [UnknownRule]
    /// Rules of other programs: never changed, but checked for clashes.
    public let foreignRules: [ForeignRule]
    /// Ours, in the kernel's order (RuleOrder).
    public let ruleOrder: RuleOrder
    public let ownedRoutes: [Route]
    /// Routes of other programs (any type) in every table: never changed, checked for clashes.
    public let foreignRoutes: [Route]

    /// The plan's facts read here: the uplinks' addresses, the main table's default routes, the
    /// gateways `gateway: auto` learns, and which of the config's interfaces are missing or down
    /// (no route through them; no sysctl for one that does not exist). apply and the dry-run
    /// plan from the same facts, so the script builds what apply installs. `down`: the uplinks
    /// `run` found dead, which a reading of the kernel cannot know.
    public func facts(_ config: Config, down: Set<String> = []) -> PlanFacts {
        // A service's interface that does not exist yet gets its route_localnet when it appears.
        let interfaces = config.uplinks.map(\.interface) + config.services.flatMap(\.interfaces)
        return PlanFacts(links: links, routes: foreignRoutes, down: down, interfaces: Array(Set(interfaces)).sorted())
    }
}
