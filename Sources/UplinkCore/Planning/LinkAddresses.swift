/// The addresses the uplinks' interfaces hold: the one kernel fact the plan depends on, for the
/// `from ADDRESS` rules of sockets bound to an uplink's address. Read at every command, so a
/// changed address shows in diff and is followed by the next apply.
public struct LinkAddresses: Sendable, Hashable, Codable {
    /// Global addresses by interface name (no IPv6 link-local: those never leave the link).
    public var byInterface: [String: [IPAddress]]

    public init(_ byInterface: [String: [IPAddress]] = [:]) {
        self.byInterface = byInterface.mapValues { $0.filter { !$0.isLinkLocal }.uniqued().sorted() }
    }

    public init(links: [String: InterfaceState]) {
        self.init(links.mapValues { $0.addresses.map(\.address) })
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
