import Testing
import UplinkCore

@Suite("Config parser: valid configs")
struct ConfigParserTests {
    /// Parses a config that must be valid and give no diagnostic at all.
    private func valid(_ text: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) throws -> Config {
        let check = ConfigParser.parse(text, file: "test.yaml")
        #expect(check.diagnostics.isEmpty, "\(check.diagnostics.map(\.description))", sourceLocation: sourceLocation)
        return try #require(check.config, sourceLocation: sourceLocation)
    }

    /// `count` uplinks named up1, up2, ... on eth0, eth1, ..., each followed by `extra[i]` lines if given.
    private func uplinks(_ count: Int, extra: [Int: String] = [:]) -> String {
        (1...count).map { i in
            "  - name: up\(i)\n    interface: eth\(i - 1)\n" + (extra[i].map { "    \($0)\n" } ?? "")
        }.joined()
    }

    // MARK: Defaults

    @Test func defaultsAreFilledIn() throws {
        let config = try valid(
            """
            uplinks:
              - name: wired
                interface: eth0
            """)
        #expect(config.balance == .nth)
        #expect(config.traffic == [.local, .forwarded])
        #expect(config.markMask == 0xff00)
        #expect(config.rulePriority == 31000)
        #expect(config.uplinks.count == 1)
        let uplink = try #require(config.uplinks.first)
        #expect(uplink.name == "wired")
        #expect(uplink.interface == "eth0")
        #expect(uplink.gateways == [])
        #expect(uplink.families == [.ipv4])
        #expect(uplink.weight == 1)
        #expect(uplink.masquerade == true)
        #expect(uplink.masquerade6 == false)
        #expect(uplink.mark == 0x100)
        #expect(uplink.table == 110)
        #expect(config.policies == [])
        #expect(config.ecmp == nil)
    }

    @Test func everyKeyCanBeGiven() throws {
        let config = try valid(
            """
            balance: random
            traffic: [forwarded]
            mark-mask: 0xf0
            rule-priority: 20000
            uplinks:
              - name: fibre_1
                interface: enp3s0.100
                gateway: 198.18.1.1
                weight: 3
                mark: 0x30
                table: 200
                masquerade: false
            """)
        #expect(config.balance == .random)
        #expect(config.traffic == [.forwarded])
        #expect(config.markMask == 0xf0)
        #expect(config.rulePriority == 20000)
        #expect(
            config.uplinks == [
                Uplink(
                    name: "fibre_1", interface: "enp3s0.100", gateways: [IPAddress("198.18.1.1")!],
                    weight: 3, mark: 0x30, table: 200, masquerade: false)
            ])
    }

    @Test func limitsAreAccepted() throws {
        let config = try valid(
            """
            rule-priority: 2
            uplinks:
              - name: abcdefghijklmno
                interface: abcdefghijklmno
                weight: 1000
                table: 4294967295
              - name: b
                interface: eth1
                weight: 1
                table: 252
            """)
        #expect(config.rulePriority == 2)
        #expect(config.uplinks.map(\.name) == ["abcdefghijklmno", "b"])
        #expect(config.uplinks.map(\.weight) == [1000, 1])
        #expect(config.uplinks.map(\.table) == [4_294_967_295, 252])
        // uplinkctl's rules take P-1, P and P+1: 32764 is the highest P that stays below main's 32766.
        #expect(try valid("rule-priority: 32764\n" + "uplinks:\n" + uplinks(1)).rulePriority == 32764)
    }

    // MARK: Derived marks

    @Test func marksFollowTheSlotInTheDefaultMask() throws {
        let config = try valid("uplinks:\n" + uplinks(4))
        #expect(config.uplinks.map(\.mark) == [0x100, 0x200, 0x300, 0x400])
    }

    @Test func marksFollowTheSlotInASmallMask() throws {
        let config = try valid("mark-mask: 0xff\nuplinks:\n" + uplinks(3))
        #expect(config.uplinks.map(\.mark) == [1, 2, 3])
    }

    @Test func marksFitANonContiguousMask() throws {
        // The n-th value of the mask: the bits of n laid into the mask's bits, lowest first.
        let config = try valid("mark-mask: 0xd\nuplinks:\n" + uplinks(3))
        #expect(config.uplinks.map(\.mark) == [0x1, 0x4, 0x5])
    }

    @Test(
        arguments: [
            // (uplink given the mark, the mark, every mark afterwards)
            (2, "0x200", [0x100, 0x200, 0x300]),
            (2, "0x100", [0x200, 0x100, 0x300]),
            (1, "0x300", [0x300, 0x100, 0x200]),
            (3, "0x8000", [0x100, 0x200, 0x8000])
        ] as [(Int, String, [UInt32])])
    func derivedMarksSkipExplicitOnes(uplink: Int, mark: String, expected: [UInt32]) throws {
        let config = try valid("uplinks:\n" + uplinks(3, extra: [uplink: "mark: \(mark)"]))
        #expect(config.uplinks.map(\.mark) == expected)
    }

    @Test func fullMaskIsUsedUpExactly() throws {
        // 0x7 holds seven values: 1 to 6 for uplinks, 7 (every bit) for connections left alone.
        let config = try valid("mark-mask: 0x7\nuplinks:\n" + uplinks(6))
        #expect(config.uplinks.map(\.mark) == [1, 2, 3, 4, 5, 6])
        #expect(config.leftAloneMark == 7)
    }

    // MARK: Derived tables

    @Test func tablesFollowTheSlot() throws {
        let config = try valid("uplinks:\n" + uplinks(3))
        #expect(config.uplinks.map(\.table) == [110, 111, 112])
    }

    @Test func derivedTablesSkipExplicitOnes() throws {
        let config = try valid("uplinks:\n" + uplinks(3, extra: [3: "table: 111"]))
        #expect(config.uplinks.map(\.table) == [110, 112, 111])
        let first = try valid("uplinks:\n" + uplinks(3, extra: [2: "table: 110"]))
        #expect(first.uplinks.map(\.table) == [111, 110, 112])
    }

    @Test func derivedTablesSkipTheKernelsTables() throws {
        // Slots 0...142 take 110...252; the next ones skip 253 (default), 254 (main) and 255 (local).
        let config = try valid("uplinks:\n" + uplinks(145))
        let tables = config.uplinks.map(\.table)
        #expect(Array(tables.prefix(143)) == Array(110...252))
        #expect(Array(tables.suffix(2)) == [256, 257])
        #expect(Set(tables).isDisjoint(with: [0, 253, 254, 255]))
    }

    @Test func derivedTablesSkipAnExplicitTableAfterTheReservedOnes() throws {
        let config = try valid("uplinks:\n" + uplinks(145, extra: [1: "table: 256"]))
        let tables = config.uplinks.map(\.table)
        #expect(tables.first == 256)
        #expect(tables.last == 257)
        #expect(Set(tables).count == tables.count)
    }

    // MARK: Numbers

    @Test func hexAndDecimalMeanTheSame() throws {
        let inHex = try valid(
            """
            mark-mask: 0xFF00
            rule-priority: 0x7918
            uplinks:
              - name: a
                interface: eth0
                weight: 0x3
                mark: 0x100
                table: 0x6e
            """)
        let inDecimal = try valid(
            """
            mark-mask: 65280
            rule-priority: 31000
            uplinks:
              - name: a
                interface: eth0
                weight: 3
                mark: 256
                table: 110
            """)
        #expect(inHex == inDecimal)
        #expect(inHex.markMask == 0xff00)
        #expect(inHex.rulePriority == 31000)
        #expect(inHex.uplinks.first?.weight == 3)
        #expect(inHex.uplinks.first?.mark == 0x100)
        #expect(inHex.uplinks.first?.table == 110)
    }

    @Test func gatewayMayBeLeftOut() throws {
        let config = try valid(
            """
            uplinks:
              - name: ppp
                interface: ppp0
              - name: lte
                interface: wwan0
                gateway: 10.64.64.64
            """)
        #expect(config.uplinks.map { $0.gateway(.ipv4) } == [nil, IPAddress("10.64.64.64")])
        #expect(config.uplinks.map(\.families) == [[.ipv4], [.ipv4]])
    }

    @Test func flowStyleWorksToo() throws {
        let config = try valid(
            """
            {traffic: [local], uplinks: [{name: a, interface: eth0}, {name: b, interface: eth1, weight: 2}]}
            """)
        #expect(config.traffic == [.local])
        #expect(config.uplinks.map(\.name) == ["a", "b"])
        #expect(config.uplinks.map(\.weight) == [1, 2])
    }

    // MARK: The seed

    /// The seed's setup: two uplinks, marks 10 and 11, tables 110 and 111, rule priority 31000.
    @Test func seedExampleParsesToExactlyItsValues() throws {
        let config = try valid(
            """
            # Two uplinks on one host: a wired link (eth0) and a wireless one (eth1).
            balance: nth
            traffic: [local]
            mark-mask: 0xff
            rule-priority: 31000

            uplinks:
              - name: wired
                interface: eth0
                gateway: 10.20.0.254
                mark: 10
                table: 110
              - name: wireless
                interface: eth1
                gateway: 10.25.0.254
                mark: 11
                table: 111
            """)
        #expect(
            config
                == Config(
                    balance: .nth,
                    traffic: [.local],
                    markMask: 0xff,
                    rulePriority: 31000,
                    uplinks: [
                        Uplink(
                            name: "wired", interface: "eth0", gateways: [IPAddress("10.20.0.254")!],
                            weight: 1, mark: 10, table: 110, masquerade: true),
                        Uplink(
                            name: "wireless", interface: "eth1", gateways: [IPAddress("10.25.0.254")!],
                            weight: 1, mark: 11, table: 111, masquerade: true)
                    ]
                ))
        #expect(config.uplinks.map { $0.gateway(.ipv4)?.description } == ["10.20.0.254", "10.25.0.254"])
    }

    @Test func seedMarksAndTablesAreAlsoWhatTheDefaultsGiveInAnFfMask() throws {
        // Without explicit tables, 110 and 111 are derived; without marks, 1 and 2.
        let config = try valid("mark-mask: 0xff\nuplinks:\n" + uplinks(2))
        #expect(config.uplinks.map(\.table) == [110, 111])
        #expect(config.uplinks.map(\.mark) == [1, 2])
    }

    // MARK: Families and gateways

    @Test func gatewaysOfBothFamilies() throws {
        let config = try valid(
            """
            uplinks:
              - name: wired
                interface: eth0
                gateway: ["2001:2:0:1::1", 198.18.1.1]
                masquerade6: true
            """)
        let uplink = try #require(config.uplinks.first)
        #expect(uplink.families == [.ipv4, .ipv6])
        #expect(uplink.gateways == [IPAddress("198.18.1.1")!, IPAddress("2001:2:0:1::1")!])
        #expect(uplink.gateway(.ipv6) == IPAddress("2001:2:0:1::1"))
        #expect(uplink.masquerade == true)
        #expect(uplink.masquerade6 == true)
    }

    @Test func anIPv6GatewayAloneMakesAnIPv6OnlyUplink() throws {
        let config = try valid("uplinks:\n  - name: v6\n    interface: eth0\n    gateway: 2001:2:0:1::1\n")
        #expect(config.uplinks.first?.families == [.ipv6])
        #expect(config.uplinks.first?.gateways == [IPAddress("2001:2:0:1::1")!])
        #expect(config.uplinks.first?.masquerade6 == false)
    }

    @Test func aListedFamilyWithoutGatewayRoutesByDevice() throws {
        let config = try valid(
            """
            uplinks:
              - name: wired
                interface: eth0
                gateway: 198.18.1.1
                family: [ipv6, ipv4]
              - name: tun
                interface: wg0
                family: ipv6
                masquerade: false
            """)
        #expect(config.uplinks.map(\.families) == [[.ipv4, .ipv6], [.ipv6]])
        #expect(config.uplinks.map(\.gateways) == [[IPAddress("198.18.1.1")!], []])
        #expect(config.uplinks[0].gateway(.ipv6) == nil)
        #expect(config.uplinks[1].masquerade == false)
        #expect(config.uplinks[1].masquerades(.ipv4) == false)
    }

    // MARK: Balance modes and ECMP

    @Test func hashNeedsNoEcmpTarget() throws {
        let config = try valid("balance: hash\nuplinks:\n" + uplinks(2))
        #expect(config.balance == .hash)
        #expect(config.ecmp == nil)
    }

    @Test func ecmpMarkAndTableFollowTheUplinks() throws {
        let config = try valid("balance: ecmp\nuplinks:\n" + uplinks(2, extra: [1: "weight: 256"]))
        #expect(config.balance == .ecmp)
        #expect(config.uplinks.map(\.mark) == [0x100, 0x200])
        #expect(config.uplinks.map(\.table) == [110, 111])
        #expect(config.uplinks.map(\.weight) == [256, 1])
        #expect(config.ecmp == EcmpTarget(mark: 0x300, table: 112))
    }

    @Test func ecmpSkipsMarksAndTablesTakenExplicitly() throws {
        let config = try valid("balance: ecmp\nuplinks:\n" + uplinks(2, extra: [1: "mark: 0x300\n    table: 112"]))
        #expect(config.uplinks.map(\.mark) == [0x300, 0x100])
        #expect(config.uplinks.map(\.table) == [112, 110])
        #expect(config.ecmp == EcmpTarget(mark: 0x200, table: 111))
    }

    @Test func ecmpTableCanBeGiven() throws {
        let config = try valid("balance: ecmp\necmp-table: 109\nuplinks:\n" + uplinks(2))
        #expect(config.ecmp == EcmpTarget(mark: 0x300, table: 109))
        // An explicit ECMP table is skipped by the uplinks' derived tables, as an uplink's would be.
        let taken = try valid("balance: ecmp\necmp-table: 110\nuplinks:\n" + uplinks(2))
        #expect(taken.uplinks.map(\.table) == [111, 112])
        #expect(taken.ecmp == EcmpTarget(mark: 0x300, table: 110))
    }

    // MARK: Policies

    @Test func theFullPolicySyntaxIsReadExactly() throws {
        let config = try valid(
            """
            traffic: [local, forwarded]
            uplinks:
              - name: wired
                interface: eth0
                gateway: [198.18.1.1, "2001:2:0:1::1"]
              - name: wifi
                interface: wlan0
                gateway: 198.18.2.1
                weight: 2
            policies:
              - destination: [192.168.1.0/24, "2001:2:0:5::/64"]
                source: 198.18.200.0/24
                protocol: tcp
                destination-port: [21, 22, 80, 443, 6667, "8000-8080"]
                source-port: 1024-65535
                in-interface: lan0
                uplink: wired
              - destination: 198.18.7.7
                protocol: udp
                destination-port: 51820
                uplink: wifi

              - source: [198.18.201.0/24, "2001:2:0:9::1"]
                protocol: [udp, icmp, icmpv6, ipv6-icmp, 47]
                balance: {wifi: 3, wired: 1}
              - bypass: true
            """)
        #expect(
            config.policies == [
                Policy(
                    line: 11,
                    match: PolicyMatch(
                        destinations: [IPPrefix("192.168.1.0/24")!, IPPrefix("2001:2:0:5::/64")!],
                        sources: [IPPrefix("198.18.200.0/24")!],
                        protocols: [6],
                        destinationPorts: [
                            PortRange(21), PortRange(22), PortRange(80), PortRange(443), PortRange(6667),
                            PortRange(8000, 8080)
                        ],
                        sourcePorts: [PortRange(1024, 65535)],
                        inputInterfaces: ["lan0"]), action: .uplink("wired")),
                Policy(
                    line: 18,
                    match: PolicyMatch(
                        destinations: [IPPrefix("198.18.7.7/32")!], protocols: [17],
                        destinationPorts: [PortRange(51820)]), action: .uplink("wifi")),
                Policy(
                    line: 23,
                    match: PolicyMatch(
                        sources: [IPPrefix("198.18.201.0/24")!, IPPrefix("2001:2:0:9::1/128")!],
                        protocols: [17, 1, 58, 58, 47]),
                    action: .balance([
                        PolicyShare(uplink: "wifi", weight: 3), PolicyShare(uplink: "wired", weight: 1)
                    ])),
                Policy(line: 26, match: PolicyMatch(), action: .bypass)
            ])
        #expect(config.ecmp == nil)
    }

    @Test func aBareAddressIsAHostPrefix() throws {
        let config = try valid(
            "uplinks:\n" + uplinks(1) + """
                policies:
                  - destination: [198.18.5.5, "2001:2::5"]
                    bypass: true
                """)
        let destinations = try #require(config.policies.first?.match.destinations)
        #expect(destinations.map(\.length) == [32, 128])
        #expect(destinations.map(\.description) == ["198.18.5.5", "2001:2::5"])
    }

    @Test func policiesMayBeWrittenInFlowStyleAndBeEmpty() throws {
        let flow = try valid("uplinks:\n" + uplinks(2) + "policies: [{protocol: udp, uplink: up2}, {uplink: up1}]\n")
        #expect(
            flow.policies == [
                Policy(line: 6, match: PolicyMatch(protocols: [17]), action: .uplink("up2")),
                Policy(line: 6, match: PolicyMatch(), action: .uplink("up1"))
            ])
        #expect(try valid("uplinks:\n" + uplinks(1) + "policies: []\n").policies == [])
    }

    @Test func ecmpAcceptsPinnedAndBypassedEntries() throws {
        let config = try valid(
            "balance: ecmp\nuplinks:\n" + uplinks(2) + """
                policies:
                  - protocol: udp
                    uplink: up2
                  - destination: 198.18.0.0/15
                    bypass: true
                """)
        #expect(config.policies.map(\.action) == [.uplink("up2"), .bypass])
    }

    @Test func anEntryShadowedInOneFamilyOnlyIsNoWarning() throws {
        // Line 11 catches the IPv4 part of line 13, but its IPv6 part still matches.
        let config = try valid(
            """
            uplinks:
              - name: wired
                interface: eth0
                gateway: [198.18.1.1, "2001:2:0:1::1"]
              - name: wifi
                interface: wlan0
                gateway: 198.18.2.1
                family: [ipv4, ipv6]

            policies:
              - destination: 198.18.0.0/15
                bypass: true
              - destination: [198.18.5.0/24, "2001:2:0:5::/64"]
                uplink: wired
              - protocol: icmpv6
                uplink: wifi
              - protocol: icmp
                uplink: wifi
            """)
        #expect(config.policies.map(\.line) == [11, 13, 15, 17])
    }

    // MARK: Diagnostics

    @Test func diagnosticsNameFileLineAndColumn() {
        let check = ConfigParser.parse(
            "uplinks:\n  - name: a\n    interface: eth0\n    weight: 0\n", file: "/etc/uplinkctl/uplinks.yaml")
        #expect(check.config == nil)
        #expect(
            check.diagnostics.map(\.description) == [
                "/etc/uplinkctl/uplinks.yaml:4:13: error: 'weight' must be a whole number from 1 to 1000; '0' is not"
            ])
        let location = check.diagnostics.first?.location
        #expect(location?.file == "/etc/uplinkctl/uplinks.yaml")
        #expect(location?.line == 4)
        #expect(location?.column == 13)
    }
}
