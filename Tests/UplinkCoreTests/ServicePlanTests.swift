import Testing

@testable import UplinkCore

/// Services from the config to the plan, without a kernel: what each key becomes.
@Suite struct ServicePlanTests {
    /// Only the host's own connections balanced: ip_forward is the services' to ask for.
    static let uplinks = """
        traffic: [local]
        uplinks:
          - {name: wan, interface: up1, gateway: 198.18.1.1}

        """

    static func parse(_ services: String) throws -> Config {
        try ConfigParser.parse(uplinks + "services:\n" + services, file: "services.yaml").get()
    }

    @Test func keysAndDefaults() throws {
        let config = try Self.parse(
            """
              - name: api
                port: 8000-8002
                backends: ["198.18.5.2:9000", "[2001:2::5]:8000", 198.18.5.3, {port: 7000, weight: 3}]
              - name: dns
                protocol: udp
                port: 53
                clients: local
                backends: [198.18.5.9]
              - name: checked
                protocol: [udp, tcp]
                port: 54
                health: {interval: 1s, down: 2}
                backends: [198.18.5.10]
            """)
        let api = try #require(config.service(named: "api"))
        #expect(api.protocols == [IPProtocolNumber.tcp] && api.clients == [.outside, .local] && api.balance == .nth)
        #expect(api.backends.map(\.description) == ["198.18.5.2:9000", "[2001:2::5]:8000", "198.18.5.3", ":7000"])
        #expect(
            api.backends.map(\.weight) == [1, 1, 1, 3] && api.backends.map(\.masquerade) == [true, true, true, false])
        #expect(api.families == [.ipv4, .ipv6] && api.health == Service.defaultHealth)
        // A UDP-only service is checked only when asked (a TCP connect may get no answer).
        #expect(config.service(named: "dns")?.health == nil && config.service(named: "dns")?.clients == [.local])
        let checked = try #require(config.service(named: "checked")?.health)
        #expect(checked.interval == Milliseconds(1000) && checked.down == 2 && checked.method == .tcp)
    }

    /// A range keeps its offset: the same ports without a backend port, one rule per port when moved.
    @Test func rangesKeepTheOffset() throws {
        let state = Planner.plan(
            try Self.parse(
                """
                  - name: api
                    port: 8000-8002
                    backends: ["198.18.5.2:9000", 198.18.5.3]
                """))
        let moved = try #require(state.nftables.chain(named: "backend-api-1")).rules.map(NftText.rule)
        #expect(
            moved
                == (0...2).map {
                    "meta l4proto tcp th dport \(8000 + $0) counter name "
                        + "\"backend-api-1\" dnat ip to 198.18.5.2:\(9000 + $0)"
                })
        let same = try #require(state.nftables.chain(named: "backend-api-2")).rules.map(NftText.rule)
        #expect(same == ["meta l4proto tcp counter name \"backend-api-2\" dnat ip to 198.18.5.3"])
        // Masqueraded toward each backend's own ports.
        let postrouting = try #require(state.nftables.chain(named: "postrouting")).rules.map(NftText.rule)
        #expect(
            postrouting.contains("ct status dnat ip daddr 198.18.5.2 meta l4proto tcp th dport 9000-9002 masquerade"))
        #expect(
            postrouting.contains("ct status dnat ip daddr 198.18.5.3 meta l4proto tcp th dport 8000-8002 masquerade"))
    }

    /// route_localnet only on the named interfaces, with the guard; ip_forward only for outside
    /// clients of a backend elsewhere.
    @Test func sysctlsAndTheGuard() throws {
        let local = Planner.plan(
            try Self.parse(
                """
                  - name: replicas
                    port: 8081
                    interfaces: [lan0, lan1]
                    backends: [127.0.0.1:8081, 127.0.0.1:8082]
                """))
        let keys = local.sysctls.map(\.key)
        #expect(
            keys.contains("net.ipv4.conf.lan0.route_localnet") && keys.contains("net.ipv4.conf.lan1.route_localnet"))
        #expect(!keys.contains { $0.hasSuffix("all.route_localnet") || $0 == "net.ipv4.ip_forward" })
        let guardRules = try #require(local.nftables.chain(named: ServicePlanner.guardChain)).rules.map(NftText.rule)
        #expect(
            guardRules == [
                "iifname \"lan0\" ip daddr 127.0.0.0/8 goto loopback-backends",
                "iifname \"lan1\" ip daddr 127.0.0.0/8 goto loopback-backends"
            ])
        let loopbackRules = local.nftables.chain(named: ServicePlanner.loopbackChain)?.rules
        #expect(loopbackRules?.last == NftRule([], [], .verdict(.drop)))

        let remoteForLocalClients = Planner.plan(
            try Self.parse(
                """
                  - name: api
                    port: 8080
                    clients: [local]
                    backends: [198.18.5.2:8080]
                """))
        #expect(!remoteForLocalClients.sysctls.map(\.key).contains("net.ipv4.ip_forward"))
        let remoteForOutsideClients = Planner.plan(
            try Self.parse(
                """
                  - name: api
                    port: 8080
                    backends: [198.18.5.2:8080]
                """))
        #expect(remoteForOutsideClients.sysctls.map(\.key).contains("net.ipv4.ip_forward"))
        #expect(remoteForLocalClients.nftables.chain(named: ServicePlanner.guardChain) == nil)
    }

    /// `run`'s checks pass the host's own service rules untranslated: the first rule of
    /// services-out returns for their mark.
    @Test func checksOfBackendsPassUntranslated() throws {
        let config = try Self.parse(
            """
              - name: replicas
                port: 8081
                clients: [local]
                backends: [127.0.0.1:8081]
            """)
        let table = Planner.plan(config).nftables
        #expect(
            table.chain(named: ServicePlanner.outboundChain)?.rules.first.map(NftText.rule)
                == "meta mark & 0xff00 vmap @backend-probes")
        #expect(
            table.map(named: ServicePlanner.probeMarksMap)?.elements == [
                .init(key: config.backendProbeMark, verdict: .return)
            ])
    }

    /// A dead backend's slots go to the others; the map keeps its size.
    @Test func deadBackendsSlotsGoToTheOthers() throws {
        let config = try Self.parse(
            """
              - name: api
                port: 8080
                backends: [{address: 198.18.5.2, port: 80, weight: 2}, 198.18.5.3:80, 198.18.5.4:80]
            """)
        var facts = PlanFacts()
        let before = Planner.plan(config, facts: facts).nftables.map(named: "backends-api-v4")
        facts.downBackends = ["api-2"]
        let after = Planner.plan(config, facts: facts).nftables.map(named: "backends-api-v4")
        let chains = { (map: NftVerdictMap?) in map?.elements.map { NftText.verdict($0.verdict) } ?? [] }
        #expect(
            chains(before) == ["goto backend-api-1", "goto backend-api-2", "goto backend-api-1", "goto backend-api-3"])
        #expect(
            chains(after) == ["goto backend-api-1", "goto backend-api-1", "goto backend-api-1", "goto backend-api-3"])
    }
}
