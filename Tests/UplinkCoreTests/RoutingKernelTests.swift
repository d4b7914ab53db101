import Testing
import UplinkCore
import UplinkKernel

/// rtnetlink against a real kernel, in a throwaway namespace; `ip` is the independent witness.
@Suite(.enabled(if: Namespaces.enabled, "needs root and network namespaces"))
struct RoutingKernelTests {
    static let config = """
    mark-mask: 0xff00
    uplinks:
      - {name: up1, interface: up1, gateway: 198.18.1.1, weight: 2}
      - {name: up2, interface: up2, gateway: 198.18.2.1}
      - {name: up3, interface: up3}
    """

    @Test func rulesAndRoutesRoundTrip() throws {
        let state = Planner.plan(try ConfigParser.parse(Self.config, file: "test.yaml").get())
        try Namespaces.with(["host", "peer"]) { names in
            let (host, peer) = (names[0], names[1])
            for index in 1...3 {
                try must(["ip", "link", "add", "up\(index)", "netns", host, "type", "veth", "peer", "name", "gw\(index)", "netns", peer])
                try must(["ip", "-n", host, "addr", "add", "198.18.\(index).2/24", "dev", "up\(index)"])
                try must(["ip", "-n", host, "link", "set", "up\(index)", "up"])
            }
            let foreignRule = ["ip", "-n", host, "rule", "add", "fwmark", "0x5", "lookup", "200", "priority", "31000"]
            try must(foreignRule)
            let kernel = try RoutingKernel(namespace: host)
            #expect(try kernel.snapshot().ownedRules.isEmpty)

            for route in state.routes { try kernel.add(route) }
            for rule in state.rules { try kernel.add(rule) }

            // Read back into the model: exactly what was planned, nothing foreign.
            #expect(try kernel.snapshot().ownedRoutes == state.routes)
            #expect(try kernel.snapshot().ownedRules == state.rules)
            // The witness agrees, line for line with the dry-run's commands.
            let rules = try must(["ip", "-n", host, "rule"])
            #expect(rules.contains("30999:\tnot from all fwmark 0/0xff00 lookup main suppress_prefixlength 0 proto 117"))
            #expect(rules.contains("31000:\tfrom all fwmark 0x100/0xff00 lookup 110 proto 117"))
            #expect(try must(["ip", "-n", host, "route", "show", "table", "110"]).contains("default via 198.18.1.1 dev up1 proto 117"))
            #expect(try must(["ip", "-n", host, "route", "show", "table", "112"]).contains("default dev up3 proto 117 scope link"))

            for rule in state.rules { try kernel.delete(rule) }
            for route in state.routes { try kernel.delete(route) }
            #expect(try kernel.snapshot().ownedRules.isEmpty)
            #expect(try kernel.snapshot().ownedRoutes.isEmpty)
            // The foreign rule at the same priority is still there.
            #expect(try must(["ip", "-n", host, "rule"]).contains("31000:\tfrom all fwmark 0x5 lookup 200"))
        }
    }

    @Test func refusalNamesTheObject() throws {
        try Namespaces.with(["host"]) { names in
            let kernel = try RoutingKernel(namespace: names[0])
            let route = Route(table: 110, destination: .defaultRoute(.ipv4), gateway: IPAddress("198.18.9.1"), device: "missing0")
            let error = #expect(throws: KernelRefusal.self) { try kernel.add(route) }
            #expect(error?.description.contains("ip route add default via 198.18.9.1 dev missing0 table 110 proto 117") == true)
        }
    }
}
