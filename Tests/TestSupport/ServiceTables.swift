@testable import UplinkCore

/// A config whose services make the planner use every object services produce: DNAT with and
/// without a port, IPv4 and IPv6, redirects with and without a port, a range moved to other
/// ports, 127.0.0.1 backends with the route_localnet guard, masquerade toward backends
/// elsewhere, weights, random and hash. Built in Swift so the encoding tests do not depend on
/// the config parser; the nft text it plans is in Fixtures/nft-debug/services.nft.
public enum ServiceTables {
    static func address(_ text: String) -> IPAddress { IPAddress(text)! }

    static func config() -> Config {
        let uplink = Uplink(name: "wan", interface: "up1", gateways: [address("198.18.1.1")], mark: 0x100, table: 110)
        let tcp = IPProtocolNumber.tcp
        let udp = IPProtocolNumber.udp
        let services = [
            Service(
                name: "api", ports: PortRange(8080), address: address("198.18.200.1"),
                backends: [
                    Backend(address: address("198.18.200.11"), port: 8080, weight: 2),
                    Backend(address: address("198.18.200.12"), port: 9000)
                ]),
            Service(
                name: "replicas", ports: PortRange(8081), interfaces: ["lan0"], balance: .random,
                backends: [
                    Backend(address: address("127.0.0.1"), port: 8081),
                    Backend(address: address("127.0.0.1"), port: 8082)
                ]),
            Service(
                name: "range", protocols: [tcp, udp], ports: PortRange(7000, 7002), clients: [.outside], balance: .hash,
                backends: [
                    Backend(address: nil, port: 7100), Backend(address: address("2001:2:0:200::11"), port: nil),
                    Backend(address: address("198.18.200.13"), port: nil)
                ]),
            Service(name: "web", ports: PortRange(80), clients: [.local], backends: [Backend(address: nil, port: nil)])
        ]
        var config = Config(uplinks: [uplink])
        config.services = services
        return config
    }

    public static func plan() -> DesiredState { Planner.plan(config()) }
}
