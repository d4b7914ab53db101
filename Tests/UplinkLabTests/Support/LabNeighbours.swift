import Foundation

@testable import UplinkCore

/// Other policy routing on the lab's host, of the kinds uplinkctl must leave alone.
///
///     host ─(tun0 · vpn0)─ vpn          198.18.250.2/24 · 198.18.250.1/24 (2001:2:0:250::2/64 · ::1)
///     host ─(br0 ⊃ vctr · ctr0)─ ctr    198.18.210.1/24 · 198.18.210.2/24
///
/// `vpn` stands in for a full-tunnel VPN (this kernel has no wireguard module): it holds the
/// server's two addresses itself and answers on them through its own echo server, so an answer
/// naming "vpn0" says a connection left by the tunnel. It routes the LAN back through the host,
/// as a VPN server routes its client's networks; in a lab with IPv6, for both families. `ctr`
/// is a container behind a bridge, with a default route through the host. Neither is connected
/// to anything else.
enum LabNeighbours {
    static let bridgeAddress = "198.18.210.1"
    static let containerAddress = "198.18.210.2"
}

struct LabTunnel {
    static let hostAddress = "198.18.250.2"
    static let farAddress = "198.18.250.1"
    static let hostAddress6 = "2001:2:0:250::2"
    static let farAddress6 = "2001:2:0:250::1"
    /// wg-quick's table and fwmark (51820 = 0xca6c).
    static let table = 51820
    let namespace: String
}

extension Lab {
    /// Adds the tunnel (without any rule or route that uses it) for the time of `body`.
    func withTunnel<T>(_ body: (LabTunnel) throws -> T) throws -> T {
        try Namespaces.with(["vpn"]) { names in
            let vpn = names[0]
            try settleIPv6(in: vpn)
            try batch(nil, ["link add tun0 netns \(host) type veth peer name vpn0 netns \(vpn)"])
            try batch(host, ["addr add \(LabTunnel.hostAddress)/24 dev tun0", "link set tun0 up"])
            try batch(
                vpn,
                [
                    "addr add \(LabTunnel.farAddress)/24 dev vpn0", "link set vpn0 up",
                    "addr add \(Self.serviceAddress)/32 dev lo", "addr add \(Self.otherServiceAddress)/32 dev lo",
                    "route add 198.18.200.0/24 via \(LabTunnel.hostAddress)"
                ])
            var addresses = [Self.serviceAddress, Self.otherServiceAddress]
            if ipv6 {
                try batch(host, ["addr add \(LabTunnel.hostAddress6)/64 dev tun0 nodad"])
                try batch(
                    vpn,
                    [
                        "addr add \(LabTunnel.farAddress6)/64 dev vpn0 nodad",
                        "addr add \(Self.serviceAddress6)/128 dev lo",
                        "route add 2001:2:0:200::/64 via \(LabTunnel.hostAddress6)"
                    ])
                addresses.append(Self.serviceAddress6)
            }
            return try withEchoServer(in: vpn, addresses: addresses, devices: ["vpn0"]) {
                try body(LabTunnel(namespace: vpn))
            }
        }
    }

    /// What `wg-quick up` installs for a full tunnel (AllowedIPs = 0.0.0.0/0), with the veth
    /// as the tunnel: the default route in table 51820, every packet without the tunnel's own
    /// fwmark led there, and the main table first consulted without its default route.
    func addFullTunnelRules(_ family: IPFamily = .ipv4) throws {
        let gateway = family == .ipv4 ? LabTunnel.farAddress : LabTunnel.farAddress6
        try must(
            ["ip", family == .ipv4 ? "-4" : "-6", "-n", host, "-batch", "-"],
            input: [
                "route add default via \(gateway) dev tun0 table \(LabTunnel.table)",
                "rule add not fwmark \(LabTunnel.table) table \(LabTunnel.table) priority 32765",
                "rule add table main suppress_prefixlength 0 priority 32764"
            ].joined(separator: "\n") + "\n")
    }

    /// What `wg-quick down` removes.
    func removeFullTunnelRules() throws {
        try batch(host, ["rule del priority 32765", "rule del priority 32764", "route flush table \(LabTunnel.table)"])
    }

    /// A container network behind a bridge in the host, for the time of `body`, which gets the
    /// container's namespace.
    func withBridgedContainer<T>(_ body: (String) throws -> T) throws -> T {
        try Namespaces.with(["ctr"]) { names in
            let container = names[0]
            try settleIPv6(in: container)
            try batch(nil, ["link add vctr netns \(host) type veth peer name ctr0 netns \(container)"])
            try batch(
                host,
                [
                    "link add br0 type bridge", "link set vctr master br0", "link set vctr up",
                    "addr add \(LabNeighbours.bridgeAddress)/24 dev br0", "link set br0 up"
                ])
            try batch(
                container,
                [
                    "addr add \(LabNeighbours.containerAddress)/24 dev ctr0", "link set ctr0 up",
                    "route add default via \(LabNeighbours.bridgeAddress)"
                ])
            return try body(container)
        }
    }

    /// As the lab's own namespaces: IPv6 off in a lab without it (no stray packet of its own),
    /// and no duplicate address detection in one with it (nothing waits).
    private func settleIPv6(in namespace: String) throws {
        try must(["ip", "netns", "exec", namespace, "sysctl", "-qw"] + ipv6Settings)
    }
}
