import Testing
@testable import UplinkCore

/// What check and apply say about other policy routing, as values: no kernel.
@Suite struct RoutingNoticeTests {
    static let config = try! ConfigParser.parse("""
        uplinks:
          - {name: wired, interface: eth0, gateway: 198.18.1.1}
          - {name: lte, interface: wwan0}
        """, file: "test.yaml").get()

    static let wgQuick = [
        ForeignRule(priority: 32764, action: .lookup(RoutingTable.main), suppressPrefixLength: 0),
        ForeignRule(priority: 32765, inverted: true, fwmark: MarkedBits(value: 0xca6c, mask: .max),
                    selectors: ["from all", "fwmark 0xca6c"], action: .lookup(51820)),
    ]
    static let tailscaleMark = MarkedBits(value: 0x80000, mask: 0xff0000)
    static let tailscale = [
        ForeignRule(priority: 5210, fwmark: tailscaleMark, selectors: ["from all", "fwmark \(tailscaleMark)"],
                    action: .lookup(RoutingTable.main)),
        ForeignRule(priority: 5250, fwmark: tailscaleMark, selectors: ["from all", "fwmark \(tailscaleMark)"],
                    action: .other("unreachable")),
        ForeignRule(priority: 5270, action: .lookup(52)),
    ]

    static func route(_ table: UInt32, via device: String, family: IPFamily = .ipv4) -> Route {
        Route(table: table, destination: .defaultRoute(family), gateway: nil, device: device)
    }

    @Test func aVpnsRuleAfterOursIsNamedOnce() {
        let notices = RoutingNotice.notices(Self.config, foreignRules: Self.wgQuick + Self.tailscale)
        #expect(notices.map(\.description) == [
            "note: ip rule 32765: not from all fwmark 0xca6c lookup 51820 comes after uplinkctl's rules (priority 31000): "
                + "new connections it sends by an interface that is not an uplink's are left alone, not balanced",
        ])
    }

    /// Rules in front of ours win for every packet anyway; the main table's rules lead nowhere else;
    /// an IPv6 rule says nothing to an IPv4-only config.
    @Test func rulesBeforeOursOrToMainOrOfAnotherFamilyAreQuiet() {
        let rules = Self.tailscale + [
            ForeignRule(priority: 32000, selectors: ["from all", "to 198.19.0.0/16"], action: .lookup(RoutingTable.main)),
            ForeignRule(family: .ipv6, priority: 32000, action: .lookup(200)),
            ForeignRule(priority: 31001, action: .lookup(200)),
        ]
        #expect(RoutingNotice.notices(Self.config, foreignRules: rules).isEmpty)
    }

    @Test func aRuleByInputInterfaceWarnsOnlyWhenForwardedTrafficIsBalanced() {
        let rule = ForeignRule(priority: 32100, inputInterface: "guest0", selectors: ["from all", "iif guest0"],
                               action: .lookup(300))
        let notices = RoutingNotice.notices(Self.config, foreignRules: [rule])
        #expect(notices.map(\.level) == [.note, .warning])
        #expect(notices.last?.text.hasSuffix("add the policy `- {in-interface: guest0, bypass: true}`") == true)
        var local = Self.config
        local.traffic = [.local]
        #expect(RoutingNotice.notices(local, foreignRules: [rule]).map(\.level) == [.note])
        // `iif lo` is the host's own traffic, which the lookup does see.
        let loopback = ForeignRule(priority: 32100, inputInterface: "lo", selectors: ["from all", "iif lo"], action: .lookup(300))
        #expect(RoutingNotice.notices(Self.config, foreignRules: [loopback]).map(\.level) == [.note])
    }

    @Test func aMissingDefaultRouteByAnUplinkIsAWarning() {
        let lan = [Self.route(RoutingTable.main, via: "lan0")]
        let none = RoutingNotice.notices(Self.config, foreignRules: [], defaultRoutes: lan)
        #expect(none.count == 1 && none[0].level == .warning)
        #expect(none.first?.text.hasPrefix("no IPv4 default route leaves by an uplink") == true)
        // A point-to-point uplink's device route counts; so does a table a foreign rule looks up.
        let pointToPoint = [Self.route(RoutingTable.main, via: "wwan0")]
        #expect(RoutingNotice.notices(Self.config, foreignRules: [], defaultRoutes: pointToPoint).isEmpty)
        #expect(RoutingNotice.notices(Self.config, foreignRules: [ForeignRule(priority: 100, action: .lookup(7))],
                                      defaultRoutes: [Self.route(7, via: "eth0")]).isEmpty)
        // A table nothing looks up does not.
        #expect(RoutingNotice.notices(Self.config, foreignRules: [], defaultRoutes: [Self.route(7, via: "eth0")]).count == 1)
    }
}
