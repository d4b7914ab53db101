import UplinkCore

/// Kernel facts made up for a config, so that the fuzzer also plans what `apply --dry-run` plans
/// on a live host: addresses on every uplink's interface (the `from ADDRESS` rules), learned
/// gateways (`gateway: auto`), an uplink and a backend out of the rotation, an interface gone.
enum FuzzFacts {
    static func facts(for config: Config) -> PlanFacts {
        var seen = Set<String>()
        let interfaces = config.uplinks.map(\.interface).filter { seen.insert($0).inserted }
        var addresses: [String: [IPAddress]] = [:]
        var gateways: [String: [IPAddress]] = [:]
        for (index, interface) in interfaces.enumerated() {
            let octet = index % 250 + 1
            addresses[interface] = ["198.18.\(octet).2", "2001:2:0:\(octet)::2", "fe80::2"].compactMap(IPAddress.init)
            gateways[interface] = ["198.18.\(octet).1", "fe80::1"].compactMap(IPAddress.init)
        }
        let down = config.uplinks.count > 1 ? [config.uplinks[config.uplinks.count - 1].name] : []
        var facts = PlanFacts(addresses, mainDefaultInterfaces: Set(interfaces.prefix(1)), down: Set(down))
        facts.learnedGateways = gateways
        facts.downBackends = Set(config.services.filter { $0.backends.count > 1 }.map { $0.backendName(0) })
        if interfaces.count > 2 {
            facts.unroutable = [interfaces[1]]
            facts.absent = [interfaces[1]]
        }
        return facts
    }

    /// Other programs' rules of every kind the notices tell apart: a VPN's table before and after
    /// uplinkctl's rules, selectors a forwarded connection's route lookup cannot see, a drop.
    static let foreignRules: [ForeignRule] = [
        ForeignRule(priority: 100, inputInterface: "lo", selectors: ["from all", "iif lo"], action: .lookup(51820)),
        ForeignRule(
            priority: 32765, inverted: true, fwmark: MarkedBits(value: 0xca6c, mask: 0xffff_ffff),
            selectors: ["from all", "fwmark 0xca6c"], action: .lookup(51820)),
        ForeignRule(
            priority: 32000, inputInterface: "guest0", selectors: ["from all", "iif guest0"],
            action: .other("unreachable")),
        ForeignRule(
            priority: 200, transportProtocol: 6, matchesPorts: true,
            selectors: ["from all", "ipproto tcp", "dport 443"], action: .lookup(300)),
        ForeignRule(
            family: .ipv6, priority: 32100, inverted: true, matchesPorts: true,
            selectors: ["from all", "sport 53"], action: .other("blackhole"))
    ]

    /// A main-table default route by the first uplink only, so the other family is missing one.
    static func defaultRoutes(for config: Config) -> [Route] {
        guard let first = config.uplinks.first, let everywhere = IPPrefix("0.0.0.0/0") else { return [] }
        return [
            Route(
                table: RoutingTable.main, destination: everywhere, gateway: IPAddress("198.18.1.1"),
                device: first.interface)
        ]
    }
}
