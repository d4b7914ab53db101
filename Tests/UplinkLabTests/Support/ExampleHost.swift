import Foundation

@testable import UplinkCore

/// A host namespace that holds every interface some configs name, so that each of them passes
/// preflight there and a change from one to another can be applied:
///
///     host ─(IFACE · pN)─ peer      one veth pair per interface, both ends up
///
/// Each interface has an address on the network of every gateway the configs give it (/24, or
/// /64 for IPv6; interfaces that share a network get different addresses); an uplink without a
/// gateway (a point-to-point link) gets none. IPv6 is on (no duplicate address detection) only
/// when a gateway is IPv6. Nothing is connected to the root namespace.
struct ExampleHost {
    let host: String
    let interfaces: [String]
    /// Every sysctl the configs' plans set: forwarding, rp_filter, route_localnet, ...
    let sysctlKeys: [String]

    /// Builds the namespaces, waits until the kernel holds still, runs `body`, removes them.
    static func with<T>(_ configs: [Config], _ body: (ExampleHost) throws -> T) throws -> T {
        try Namespaces.with(["host", "peer"]) { names in
            let (host, peer) = (names[0], names[1])
            let interfaces = Self.interfaces(configs)
            let ipv6 = configs.contains { $0.uplinks.contains { $0.gateways.contains { $0.family == .ipv6 } } }
            let settings =
                ipv6
                ? ["net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0"]
                : ["net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"]
            for name in names { try must(["ip", "netns", "exec", name, "sysctl", "-qw"] + settings) }
            try must(
                ["ip", "-batch", "-"],
                input: interfaces.enumerated().map { index, name in
                    "link add \(name) netns \(host) type veth peer name p\(index + 1) netns \(peer)\n"
                }.joined())
            let addresses = Self.addresses(configs)
            try must(
                ["ip", "-n", host, "-batch", "-"],
                input: interfaces.flatMap { name in
                    addresses[name, default: []].map { address, length in
                        "addr add \(address)/\(length) dev \(name)" + (address.family == .ipv6 ? " nodad" : "")
                    }
                        + ["link set \(name) up"]
                }.map { $0 + "\n" }.joined())
            try must(
                ["ip", "-n", peer, "-batch", "-"], input: interfaces.indices.map { "link set p\($0 + 1) up\n" }.joined()
            )
            let keys = Set(configs.flatMap { Planner.plan($0).sysctls.map(\.key) } + ["net.ipv4.ip_forward"]).sorted()
            let example = ExampleHost(host: host, interfaces: interfaces, sysctlKeys: keys)
            try example.settle(ipv6: ipv6)
            return try body(example)
        }
    }

    func snapshot() throws -> KernelSnapshot { try KernelSnapshot(host, sysctlKeys: sysctlKeys) }

    /// Every uplink's and service's interface, in the order the configs name them.
    static func interfaces(_ configs: [Config]) -> [String] {
        var names: [String] = []
        for name in configs.flatMap({ $0.uplinks.map(\.interface) + $0.services.flatMap(\.interfaces) })
        where !names.contains(name) {
            names.append(name)
        }
        return names
    }

    /// Per interface, one address on each of its gateways' networks (`198.18.1.2/24`): host
    /// byte 2 (3 when the gateway has 2), one more per interface that already took it.
    static func addresses(_ configs: [Config]) -> [String: [(address: IPAddress, length: Int)]] {
        var result: [String: [(address: IPAddress, length: Int)]] = [:]
        var taken: Set<IPAddress> = []
        for uplink in configs.flatMap(\.uplinks) {
            for gateway in uplink.gateways {
                let length = gateway.family == .ipv4 ? 24 : 64
                let held = result[uplink.interface, default: []]
                if held.contains(where: { IPPrefix(address: $0.address, length: $0.length)!.contains(gateway) }) {
                    continue
                }
                var bytes = gateway.bytes
                bytes[bytes.count - 1] = 2
                while taken.contains(IPAddress(bytes: bytes)!) || bytes == gateway.bytes { bytes[bytes.count - 1] += 1 }
                let address = IPAddress(bytes: bytes)!
                taken.insert(address)
                result[uplink.interface, default: []].append((address, length))
            }
        }
        return result
    }

    /// Until every interface has its carrier (veth carriers come up asynchronously, and
    /// routes show `linkdown` before) and two readings agree (IPv6 link-local routes appear
    /// with the carrier).
    private func settle(ipv6: Bool) throws {
        let deadline = Date().addingTimeInterval(5)
        var last: KernelSnapshot?
        while Date() < deadline {
            let links = try must(["ip", "-n", host, "-o", "link", "show"])
            let up = interfaces.allSatisfy { name in
                links.split(separator: "\n").contains { $0.contains(" \(name)@") && $0.contains("LOWER_UP") }
            }
            let now = try snapshot()
            if up && now == last && !(ipv6 && now.routes6.contains("tentative")) { return }
            last = up ? now : nil
            usleep(50_000)
        }
        throw CommandFailed(command: "settle \(host)", status: 0, output: "the interfaces did not come up within 5 s")
    }
}
