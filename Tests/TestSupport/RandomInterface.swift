import Foundation

@testable import UplinkCore

/// An interface of a random config's host: the addresses it holds, and free addresses on its
/// networks that the config may use as gateways (so that apply's preflight finds each gateway
/// on a network of its interface).
public struct RandomInterface {
    public var name: String
    /// With their prefix length: `198.18.11.2/28`, `2001:2:0:b::2/64`.
    public var addresses: [String] = []
    var freeIPv4: [String] = []
    /// Link-local gateways (fe80::…) are on every IPv6 link, with or without a global address.
    var freeIPv6: [String] = []
    /// Fixed, so that the IPv6 link-local addresses (and their local routes) are the same in
    /// each namespace that gets this interface.
    public var mac: String

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
