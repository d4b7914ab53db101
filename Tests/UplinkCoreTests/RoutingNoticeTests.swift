import Testing

@testable import UplinkCore

/// What check and apply say about other policy routing, as values: no kernel.
@Suite struct RoutingNoticeTests {
    static let config = try! ConfigParser.parse(
        """
        uplinks:
          - {name: wired, interface: eth0, gateway: 198.18.1.1}
          - {name: lte, interface: wwan0}
        """, file: "test.yaml"
    ).get()

    static let wgQuick = [
        ForeignRule(priority: 32764, action: .lookup(RoutingTable.main), suppressPrefixLength: 0),
        ForeignRule(
            priority: 32765, inverted: true, fwmark: MarkedBits(value: 0xca6c, mask: .max),
            selectors: ["from all", "fwmark 0xca6c"], action: .lookup(51820))
    ]
    static let tailscaleMark = MarkedBits(value: 0x80000, mask: 0xff0000)
    static let tailscale = [
        ForeignRule(
            priority: 5210, fwmark: tailscaleMark, selectors: ["from all", "fwmark \(tailscaleMark)"],
            action: .lookup(RoutingTable.main)),
        ForeignRule(
            priority: 5250, fwmark: tailscaleMark, selectors: ["from all", "fwmark \(tailscaleMark)"],
            action: .other("unreachable")),
        ForeignRule(priority: 5270, action: .lookup(52))
    ]

    static func route(_ table: UInt32, via device: String, family: IPFamily = .ipv4) -> Route {
        Route(table: table, destination: .defaultRoute(family), gateway: nil, device: device)
    }

    @Test func aVpnsRuleAfterOursIsNamedOnce() {
        let notices = RoutingNotice.notices(Self.config, foreignRules: Self.wgQuick + Self.tailscale)
        #expect(
            notices.map(\.description) == [
                "note: ip rule 32765: not from all fwmark 0xca6c lookup 51820 comes after "
                    + "uplinkctl's rules (priority 31000): new connections it sends by an "
                    + "interface that is not an uplink's are left alone, not balanced"
            ])
    }

    /// Rules in front of ours win for every packet anyway (and the lookup sees them as the routing
    /// does); the main table's rules lead nowhere else; an IPv6 rule says nothing to an IPv4-only
    /// config. A rule at 31001 comes after the fwmark rules at 31000.
    @Test func rulesBeforeOursOrToMainOrOfAnotherFamilyAreQuiet() {
        let rules =
            Self.tailscale + [
                ForeignRule(
                    priority: 32000, selectors: ["from all", "to 198.19.0.0/16"], action: .lookup(RoutingTable.main)),
                ForeignRule(family: .ipv6, priority: 32000, action: .lookup(200))
            ]
        #expect(RoutingNotice.notices(Self.config, foreignRules: rules).isEmpty)
        let next = RoutingNotice.notices(
            Self.config, foreignRules: [ForeignRule(priority: 31001, action: .lookup(200))])
        #expect(next.map(\.level) == [.note])
    }

    @Test func aRuleByInputInterfaceWarnsOnlyWhenForwardedTrafficIsBalanced() {
        let rule = ForeignRule(
            priority: 32100, inputInterface: "guest0", selectors: ["from all", "iif guest0"],
            action: .lookup(300))
        let notices = RoutingNotice.notices(Self.config, foreignRules: [rule])
        #expect(notices.map(\.level) == [.note, .warning])
        #expect(
            notices.last?.text.hasSuffix(
                "connections arriving on guest0 are balanced whenever the main routing sends "
                    + "them by an uplink; to leave them to this rule, add the policy "
                    + "`- {in-interface: guest0, bypass: true}`") == true)
        var local = Self.config
        local.traffic = [.local]
        #expect(RoutingNotice.notices(local, foreignRules: [rule]).map(\.level) == [.note])
        // In front of ours it still routes them, but they take a slot.
        var before = rule
        before.priority = 100
        #expect(
            RoutingNotice.notices(Self.config, foreignRules: [before]).map(\.text) == [
                "ip rule 100: from all iif guest0 lookup 300 matches by input interface (iif guest0), "
                    + "which the route lookup uplinkctl makes for a forwarded connection cannot see as "
                    + "its routing does (it asks as if from this host, without ports or protocol): "
                    + "connections arriving on guest0 still follow it, but take a balancing slot and "
                    + "count on an uplink; the policy `- {in-interface: guest0, bypass: true}` avoids that"
            ])
    }

    /// Where the lookup sees a rule that the connection's routing will not: `iif lo`, `not iif X`,
    /// an inverted port match. Those connections are left alone, and said so.
    @Test func ruleTheLookupSeesButTheRoutingDoesNotIsAWarning() {
        let loopback = ForeignRule(
            priority: 32100, inputInterface: "lo", selectors: ["from all", "iif lo"], action: .lookup(300))
        let notInput = ForeignRule(
            priority: 100, inverted: true, inputInterface: "eth9", selectors: ["from all", "iif eth9"],
            action: .lookup(300))
        let notPort = ForeignRule(
            priority: 32200, inverted: true, matchesPorts: true, selectors: ["from all", "dport 53"],
            action: .lookup(300))
        let texts = RoutingNotice.notices(Self.config, foreignRules: [loopback, notInput, notPort]).filter {
            $0.level == .warning
        }
        .map(\.text)
        #expect(texts.count == 3)
        #expect(
            texts[0].hasSuffix(
                "connections arriving on eth9 are left alone though it does not apply to them; they "
                    + "leave, unbalanced, by the routes after it"))
        #expect(texts[1].contains("forwarded connections are left alone"))
        #expect(texts[2].contains("the connections it selects are left alone"))
    }

    /// IPv6 lookups carry the protocol, IPv4 ones do not; neither carries ports.
    @Test func theProtocolIsUnseenInIPv4Only() {
        let tcp = ForeignRule(
            priority: 32100, transportProtocol: IPProtocolNumber.tcp, selectors: ["from all", "ipproto tcp"],
            action: .lookup(300))
        var tcp6 = tcp
        tcp6.family = .ipv6
        var config = Self.config
        config.uplinks[0].families = [.ipv4, .ipv6]
        let levels = { (rule: ForeignRule) in RoutingNotice.notices(config, foreignRules: [rule]).map(\.level) }
        #expect(levels(tcp) == [.note, .warning])
        #expect(levels(tcp6) == [.note])
        var web6 = tcp6
        web6.matchesPorts = true
        #expect(levels(web6) == [.note, .warning])
    }

    @Test func aMissingDefaultRouteByAnUplinkIsAWarning() {
        let lan = [Self.route(RoutingTable.main, via: "lan0")]
        let none = RoutingNotice.notices(Self.config, foreignRules: [], defaultRoutes: lan)
        #expect(none.count == 1 && none[0].level == .warning)
        #expect(none.first?.text.hasPrefix("no IPv4 default route leaves by an uplink") == true)
        // A point-to-point uplink's device route counts; so does a table a foreign rule looks up.
        let pointToPoint = [Self.route(RoutingTable.main, via: "wwan0")]
        #expect(RoutingNotice.notices(Self.config, foreignRules: [], defaultRoutes: pointToPoint).isEmpty)
        #expect(
            RoutingNotice.notices(
                Self.config, foreignRules: [ForeignRule(priority: 100, action: .lookup(7))],
                defaultRoutes: [Self.route(7, via: "eth0")]
            ).isEmpty)
        // A table nothing looks up does not.
        #expect(
            RoutingNotice.notices(Self.config, foreignRules: [], defaultRoutes: [Self.route(7, via: "eth0")]).count == 1
        )
        // Each family the uplinks carry needs its own.
        var dual = Self.config
        dual.uplinks[0].families = [.ipv4, .ipv6]
        let missing = RoutingNotice.notices(dual, foreignRules: [], defaultRoutes: pointToPoint)
        #expect(missing.map { $0.text.hasPrefix("no IPv6 default route leaves by an uplink") } == [true])
        #expect(missing.first?.text.contains("(ip -6 route show default)") == true)
    }
}
