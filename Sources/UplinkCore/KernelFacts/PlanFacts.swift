/// What the plan depends on besides the config, as one value: for sockets bound to an uplink's
/// address, the addresses the uplinks' interfaces hold (their `from ADDRESS` rules) and the
/// interfaces of the main table's IPv4 default routes, read from the kernel at every command
/// (a changed address shows in diff and is followed by the next apply); and the uplinks that
/// `run` found dead, out of the rotation.
public struct PlanFacts: Sendable, Hashable, Codable {
    /// Global addresses by interface name (no IPv6 link-local: those never leave the link).
    public var byInterface: [String: [IPAddress]]
    /// An unbound socket gets the address of the main default route's interface as its source,
    /// and the `from` rule of that address then routes it: on that uplink, a bound socket and an
    /// unbound one look the same, so only the other uplinks recognise bound sockets.
    public var mainDefaultInterfaces: Set<String>
    /// Uplinks (by name) out of the rotation: their slots go to the others, until they are back.
    public var down: Set<String>
    /// Service backends (`api-2`) that `run` found dead: their slots go to the others.
    public var downBackends: Set<String> = []
    /// Interfaces that do not exist or are administratively down (known only where the links
    /// were read): the kernel takes no route through them, so their uplinks keep none until
    /// they are back (`apply` refuses to start with such an interface; `run` takes the uplink out).
    public var unroutable: Set<String> = []
    /// Of those, the ones that do not exist: they have no sysctls to set either.
    public var absent: Set<String> = []
    /// For `gateway: auto`: the gateways of other programs' default routes (a DHCP or PPP
    /// client's), by interface, the main table's first.
    public var learnedGateways: [String: [IPAddress]] = [:]

    public init(
        _ byInterface: [String: [IPAddress]] = [:], mainDefaultInterfaces: Set<String> = [], down: Set<String> = []
    ) {
        self.byInterface = byInterface.mapValues { $0.filter { !$0.isLinkLocal }.uniqued().sorted() }
        self.mainDefaultInterfaces = mainDefaultInterfaces
        self.down = down
    }

    public init(
        links: [String: InterfaceState], routes: [Route] = [], down: Set<String> = [], interfaces: [String] = []
    ) {
        let defaults = routes.filter { $0.table == RoutingTable.main && $0.family == .ipv4 && $0.destination.isDefault }
        self.init(
            links.mapValues(\.localAddresses),
            mainDefaultInterfaces: Set(defaults.flatMap { $0.nexthops.map(\.device) }),
            down: down)
        unroutable = Set(interfaces.filter { links[$0]?.isUp != true })
        absent = Set(interfaces.filter { links[$0] == nil })
        let ordered = routes.filter { $0.destination.isDefault }.sorted {
            ($0.table == RoutingTable.main ? 0 : 1) < ($1.table == RoutingTable.main ? 0 : 1)
        }
        for route in ordered {
            for nexthop in route.nexthops {
                guard let gateway = nexthop.gateway,
                    !(learnedGateways[nexthop.device] ?? []).contains(where: { $0.family == gateway.family })
                else { continue }
                learnedGateways[nexthop.device, default: []].append(gateway)
            }
        }
    }

    /// The gateway of an uplink in a family: the config's, or, with `gateway: auto`, the one
    /// its interface's default route has now (nil: none yet, so no route).
    public func gateway(of uplink: Uplink, _ family: IPFamily) -> IPAddress? {
        uplink.gatewayAuto ? learnedGateways[uplink.interface]?.first { $0.family == family } : uplink.gateway(family)
    }

    public func addresses(of interface: String, family: IPFamily) -> [IPAddress] {
        (byInterface[interface] ?? []).filter { $0.family == family }
    }
}
