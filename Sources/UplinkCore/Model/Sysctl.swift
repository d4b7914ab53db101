/// A kernel setting under /proc/sys and the value uplinkctl wants in it.
public struct Sysctl: Sendable, Hashable, Codable, Comparable {
    /// Path components below /proc/sys; an interface name may itself contain dots.
    public var path: [String]
    public var value: String

    public init(_ path: [String], _ value: String) {
        self.path = path
        self.value = value
    }

    /// `net.ipv4.conf.eth0/100.rp_filter`: sysctl(8) writes a dot inside a component as '/'.
    public var key: String {
        path.map { $0.replacingDots(with: "/") }.joined(separator: ".")
    }

    public var procPath: String { "/proc/sys/" + path.joined(separator: "/") }

    public static func < (a: Sysctl, b: Sysctl) -> Bool { a.path.lexicographicallyPrecedes(b.path) }

    public static func ipForwarding() -> Sysctl { Sysctl(["net", "ipv4", "ip_forward"], "1") }

    /// IPv6 forwarding. The kernel then ignores router advertisements on interfaces whose
    /// accept_ra is 1: an uplink that learns its IPv6 gateway by SLAAC needs accept_ra 2.
    public static func ipv6Forwarding() -> Sysctl { Sysctl(["net", "ipv6", "conf", "all", "forwarding"], "1") }

    /// Multipath routes hash on addresses, protocol and ports (layer 4), so that the flows
    /// between two hosts spread over the next hops.
    public static func multipathLayer4Hash(_ family: IPFamily) -> Sysctl {
        Sysctl(["net", family == .ipv4 ? "ipv4" : "ipv6", "fib_multipath_hash_policy"], "1")
    }

    /// Packets to 127.0.0.0/8 arriving on the interface are routed, not dropped as martians:
    /// outside clients of a service on 127.0.0.1 need it (and the guard that comes with it).
    public static func routeLocalnet(_ interface: String) -> Sysctl {
        Sysctl(["net", "ipv4", "conf", interface, "route_localnet"], "1")
    }

    /// Multipath TCP for the namespace's sockets that ask for it (the kernel's default, made sure of).
    public static func mptcpEnabled() -> Sysctl { Sysctl(["net", "mptcp", "enabled"], "1") }

    /// Loose reverse-path filtering (2): replies to a connection balanced onto another uplink
    /// arrive on an interface that is not the main table's way back, and strict mode drops them.
    public static func looseReversePath(_ interface: String) -> Sysctl {
        Sysctl(["net", "ipv4", "conf", interface, "rp_filter"], "2")
    }
}

private extension String {
    func replacingDots(with replacement: Character) -> String {
        String(map { $0 == "." ? replacement : $0 })
    }
}
