/// The kernel facts the plan depends on, for sockets bound to an uplink's address: the
/// addresses the uplinks' interfaces hold (their `from ADDRESS` rules), and the interfaces of
/// the main table's IPv4 default routes. Read at every command, so a changed address shows in
/// diff and is followed by the next apply.
public struct LinkAddresses: Sendable, Hashable, Codable {
    /// Global addresses by interface name (no IPv6 link-local: those never leave the link).
    public var byInterface: [String: [IPAddress]]
    /// An unbound socket gets the address of the main default route's interface as its source,
    /// and the `from` rule of that address then routes it: on that uplink, a bound socket and an
    /// unbound one look the same, so only the other uplinks recognise bound sockets.
    public var mainDefaultInterfaces: Set<String>

    public init(_ byInterface: [String: [IPAddress]] = [:], mainDefaultInterfaces: Set<String> = []) {
        self.byInterface = byInterface.mapValues { $0.filter { !$0.isLinkLocal }.uniqued().sorted() }
        self.mainDefaultInterfaces = mainDefaultInterfaces
    }

    public init(links: [String: InterfaceState], routes: [Route] = []) {
        let defaults = routes.filter { $0.table == RoutingTable.main && $0.family == .ipv4 && $0.destination.isDefault }
        self.init(links.mapValues(\.localAddresses), mainDefaultInterfaces: Set(defaults.flatMap { $0.nexthops.map(\.device) }))
    }

    public func addresses(of interface: String, family: IPFamily) -> [IPAddress] {
        (byInterface[interface] ?? []).filter { $0.family == family }
    }
}

extension IPAddress {
    /// fe80::/10 and 169.254.0.0/16.
    public var isLinkLocal: Bool {
        family == .ipv6 ? bytes[0] == 0xfe && bytes[1] & 0xc0 == 0x80 : bytes[0] == 169 && bytes[1] == 254
    }
}
