/// What a host namespace needs for a random config: its uplinks' interfaces (veths whose peers
/// are in a namespace of their own, never the machine's), the other interfaces the config names
/// that exist, and the default routes a DHCP client would have installed (`gateway: auto`).
public struct HostWiring {
    public var interfaces: [RandomInterface] = []
    /// Interfaces that exist without addresses (a service's `interfaces`).
    public var bare: [String] = []
    /// `ip route` argument lists, after `route add`: `0.0.0.0/0 via 198.18.11.1 dev wan1 metric 10`.
    public var routes: [String] = []

    public var names: [String] { interfaces.map(\.name) + bare }
}
