import Foundation

@testable import UplinkCore

/// An interface of a random config's host: the addresses it holds, and free addresses on its
/// networks that the config may use as gateways (so that apply's preflight finds each gateway
/// on a network of its interface).
struct RandomInterface {
    var name: String
    /// With their prefix length: `198.18.11.2/28`, `2001:2:0:b::2/64`.
    var addresses: [String] = []
    var freeIPv4: [String] = []
    /// Link-local gateways (fe80::…) are on every IPv6 link, with or without a global address.
    var freeIPv6: [String] = []
    /// Fixed, so that the IPv6 link-local addresses (and their local routes) are the same in
    /// each namespace that gets this interface.
    var mac: String

    /// Global addresses of `family`, without their length.
    func hosts(_ family: IPFamily) -> [String] {
        addresses.filter { $0.contains(":") == (family == .ipv6) }.map { String($0.split(separator: "/")[0]) }
    }

    /// Interface `k` (1-based) of a random host: an IPv4 network 198.18.(10+k).0/L and an IPv6
    /// one 2001:2:0:(10+k)::/L when asked for, one or two host addresses on each, sometimes a
    /// second IPv4 network (198.19.(10+k).0/24), the rest of the networks free for gateways.
    static func make(_ rng: inout SplitMix64, index k: Int, name: String, ipv4: Bool, ipv6: Bool) -> RandomInterface {
        var interface = RandomInterface(name: name, mac: String(format: "02:00:00:00:%02x:01", k))
        if ipv4 {
            let length = rng.pick([24, 24, 25, 26, 28, 29, 30])
            let usable = rng.shuffled(Array(1..<((1 << (32 - length)) - 1)))
            let held = usable.count > 2 && rng.chance(0.3) ? 2 : 1
            interface.addresses += usable.prefix(held).map { "198.18.\(10 + k).\($0)/\(length)" }
            interface.freeIPv4 = usable.dropFirst(held).prefix(8).map { "198.18.\(10 + k).\($0)" }
            if rng.chance(0.2) { interface.addresses.append("198.19.\(10 + k).\(rng.int(1...254))/24") }
        }
        if ipv6 {
            let length = rng.pick([64, 64, 64, 120, 126])
            let usable = rng.shuffled(Array(1...min((1 << min(128 - length, 16)) - 1, 40)))
            // Sometimes no global address at all: gateways are then link-local only.
            let held = rng.chance(0.15) ? 0 : (rng.chance(0.3) ? 2 : 1)
            let network = "2001:2:0:\(String(10 + k, radix: 16))::"
            interface.addresses += usable.prefix(held).map { "\(network)\(String($0, radix: 16))/\(length)" }
            if held > 0 {
                interface.freeIPv6 = usable.dropFirst(held).prefix(6).map { "\(network)\(String($0, radix: 16))" }
            }
        }
        interface.freeIPv6 += ["fe80::1", "fe80::\(String(k, radix: 16)):1", "fe80::2"]
        return interface
    }
}

/// What a host namespace needs for a random config: its uplinks' interfaces (veths whose peers
/// are in a namespace of their own, never the machine's), the other interfaces the config names
/// that exist, and the default routes a DHCP client would have installed (`gateway: auto`).
struct HostWiring {
    var interfaces: [RandomInterface] = []
    /// Interfaces that exist without addresses (a service's `interfaces`).
    var bare: [String] = []
    /// `ip route` argument lists, after `route add`: `0.0.0.0/0 via 198.18.11.1 dev wan1 metric 10`.
    var routes: [String] = []

    var names: [String] { interfaces.map(\.name) + bare }

    /// Builds the host's side in `host`; the peers go into `peers`, named TAG1, TAG2, … (several
    /// hosts may share one peers namespace, each with its own tag). `dev NAME` and `name NAME`
    /// throughout: an interface may be named like an abbreviated keyword of `ip`, such as `n`.
    func build(in host: String, peers: String, tag: String) throws {
        try must([
            "ip", "netns", "exec", host, "sysctl", "-qw", "net.ipv6.conf.all.accept_dad=0",
            "net.ipv6.conf.default.accept_dad=0"
        ])
        let all =
            interfaces.map { ($0.name, $0.mac) }
            + bare.enumerated().map { ($1, String(format: "02:00:00:01:%02x:01", $0)) }
        let peerNames = all.indices.map { "\(tag)\($0 + 1)" }
        try batch(
            nil,
            zip(all, peerNames).map { link, peer in
                "link add name \(link.0) netns \(host) address \(link.1) type veth peer name \(peer) netns \(peers)"
            })
        var commands: [String] = []
        for interface in interfaces {
            commands += interface.addresses.map { address in
                "addr add \(address) dev \(interface.name)" + (address.contains(":") ? " nodad" : "")
            }
            commands.append("link set dev \(interface.name) up")
        }
        commands += bare.map { "link set dev \($0) up" }
        commands += routes.map { "route add \($0)" }
        try batch(host, commands)
        try batch(peers, peerNames.map { "link set dev \($0) up" })
    }

    private func batch(_ namespace: String?, _ commands: [String]) throws {
        guard !commands.isEmpty else { return }
        let input = commands.joined(separator: "\n") + "\n"
        try must(["ip"] + (namespace.map { ["-n", $0] } ?? []) + ["-batch", "-"], input: input)
    }
}
