import Foundation
import TestSupport
import Testing

@testable import UplinkCore

/// The dry-run scripts, run for real in throwaway namespaces: each must run without a
/// complaint, and afterwards the kernel must hold what the plan says.
///
/// Lab layout: namespace `host` runs the script; each uplink is a veth pair from `host`
/// (the uplink's interface, 198.18.N.2/24) to `peer` (pN, 198.18.N.1/24), N = slot + 1, so
/// every gateway 198.18.N.1 is on-link. Nothing touches the machine's own namespace.
@Suite("Dry-run scripts in a namespace", .serialized)
struct ScriptRunTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let name: String
        let yaml: String
        var testDescription: String { name }

        func config() throws -> Config { try ConfigParser.parse(yaml, file: "\(name).yaml").get() }
    }

    static let cases: [Case] = [
        Case(
            name: "nth 2:1:1, one uplink without gateway",
            yaml: """
                balance: nth
                uplinks:
                  - name: fiber
                    interface: wan0
                    gateway: 198.18.1.1
                    weight: 2
                  - name: cable
                    interface: wan1
                    gateway: 198.18.2.1
                  - name: ptp
                    interface: ptp0
                """),
        Case(
            name: "random 3:1, forwarded only",
            yaml: """
                balance: random
                traffic: [forwarded]
                uplinks:
                  - name: left
                    interface: eth-left
                    gateway: 198.18.1.1
                    weight: 3
                  - name: right
                    interface: eth-right
                    gateway: 198.18.2.1
                    masquerade: false
                """),
        Case(
            name: "local only, mark-mask 0xff, marks 10 and 11",
            yaml: """
                traffic: [local]
                mark-mask: 0xff
                rule-priority: 20000
                uplinks:
                  - name: a
                    interface: up-a
                    gateway: 198.18.1.1
                    mark: 10
                    table: 1010
                  - name: b
                    interface: up-b
                    gateway: 198.18.2.1
                    mark: 11
                    table: 1011
                """)
    ]

    static let lab = Namespaces.enabled

    // MARK: iptables form

    @Test("iptables script builds the state", .enabled(if: lab, "needs root and network namespaces"), arguments: cases)
    func iptablesScript(_ labCase: Case) throws {
        let config = try labCase.config()
        let state = Planner.plan(config)
        try Namespaces.with(["host", "peer"]) { names in
            let (host, peer) = (names[0], names[1])
            try Self.wire(config, host: host, peer: peer)
            try Self.runScript(DryRun.script(state, format: .iptables), in: host)
            try Self.expectRoutingState(state, config: config, in: host)
            try Self.expectSysctls(state, in: host)

            let saved = try must(["ip", "netns", "exec", host, "iptables-save"])
            for chain in state.nftables.chains {
                #expect(
                    saved.contains(":\(IptablesTranslation.chainName(chain.name)) "),
                    "chain of \(chain.name) missing:\n\(saved)")
            }
            // Every rule of the script is in the kernel: as many -A lines as the script appends.
            let appended = IptablesTranslation(state.nftables).commands().filter { $0.contains("-A") }.count
            let inKernel = saved.split(separator: "\n").filter { $0.hasPrefix("-A ") && $0.contains("UPL-") }.count
            #expect(inKernel == appended, "\(appended) rules appended, \(inKernel) in iptables-save:\n\(saved)")
            if config.traffic.contains(.local) { #expect(saved.contains("-A OUTPUT -j UPL-output")) }
            if config.traffic.contains(.forwarded) { #expect(saved.contains("-A PREROUTING -j UPL-prerouting")) }
            for uplink in config.uplinks where uplink.masquerade {
                #expect(saved.contains("-A UPL-postrouting -o \(uplink.interface) -j MASQUERADE"), "\(saved)")
            }
        }
    }

    // MARK: nft form

    @Test("nft script builds the state", .enabled(if: lab, "needs root and network namespaces"), arguments: cases)
    func nftScript(_ labCase: Case) throws {
        let config = try labCase.config()
        let state = Planner.plan(config)
        try Namespaces.with(["host", "peer"]) { names in
            let (host, peer) = (names[0], names[1])
            try Self.wire(config, host: host, peer: peer)
            try Self.runScript(DryRun.script(state, format: .nft), in: host)
            try Self.expectRoutingState(state, config: config, in: host)
            try Self.expectSysctls(state, in: host)

            let listed = try must(["ip", "netns", "exec", host, "nft", "list", "table", "inet", Ownership.nftTableName])
            let needles =
                ["map known", "map slots", "set never-balanced-v4"]
                + state.nftables.chains.map { chain in "chain \(chain.name) {" }
                + state.nftables.counters.map { counter in "counter \(counter) {" }
            for needle in needles {
                #expect(listed.contains(needle), "'\(needle)' missing:\n\(listed)")
            }
            let slots = try must([
                "ip", "netns", "exec", host, "nft", "list", "map", "inet", Ownership.nftTableName,
                NftPlanner.slotsMap(.ipv4)
            ])
            let total = state.uplinks.map(\.slots).reduce(0, +)
            for planned in state.uplinks {
                let held = slots.components(separatedBy: "goto new-\(planned.uplink.name)").count - 1
                #expect(
                    held == planned.slots, "\(planned.uplink.name) holds \(held) slots, not \(planned.slots):\n\(slots)"
                )
            }
            let generator = config.balance == .nth ? "inc" : "random"
            #expect(listed.contains("numgen \(generator) mod \(total) vmap @slots"), "\(listed)")
        }
    }

    // MARK: Every construct, both forms

    /// The constructs of policies, dual stack, hash and ECMP, each in a config of its own
    /// (examples/ gains its own; both are run).
    static let constructCases: [Case] = [
        Case(
            name: "policies: bypass, pinned port ranges, protocol split, a balanced subset",
            yaml: """
                balance: nth
                uplinks:
                  - name: up1
                    interface: up1
                    gateway: 198.18.1.1
                  - name: up2
                    interface: up2
                    gateway: 198.18.2.1
                  - name: up3
                    interface: up3
                    gateway: 198.18.3.1
                policies:
                  - destination: 198.18.200.0/24
                    bypass: true
                  - destination: 198.19.0.1
                    protocol: udp
                    destination-port: 53
                    uplink: up2
                  - protocol: tcp
                    destination-port: [21, 22, "80-443"]
                    uplink: up1
                  - source: 198.18.200.0/24
                    protocol: udp
                    balance: {up1: 1, up3: 2}
                """),
        Case(
            name: "dual stack, hash 2:1:1, NAT66 on one uplink",
            yaml: """
                balance: hash
                uplinks:
                  - name: up1
                    interface: up1
                    gateway: [198.18.1.1, "2001:2:1::1"]
                    weight: 2
                  - name: up2
                    interface: up2
                    gateway: "2001:2:2::1"
                    masquerade6: true
                  - name: up3
                    interface: up3
                    gateway: 198.18.3.1
                policies:
                  - destination: ["2001:2:ff::/48", 198.19.5.0/24]
                    protocol: [tcp, udp]
                    destination-port: 443
                    uplink: up1
                  - in-interface: lan0
                    protocol: icmpv6
                    bypass: true
                """),
        Case(
            name: "IPv6 only, random 3:1, forwarded, one uplink without gateway",
            yaml: """
                balance: random
                traffic: [forwarded]
                uplinks:
                  - name: a
                    interface: up-a
                    gateway: "2001:2:1::1"
                    weight: 3
                  - name: b
                    interface: up-b
                    family: ipv6
                    masquerade6: true
                policies:
                  - source: "2001:2:200::/64"
                    protocol: udp
                    source-port: "5000-5100"
                    uplink: b
                """),
        Case(
            name: "ECMP, dual stack, with policies",
            yaml: """
                balance: ecmp
                uplinks:
                  - name: wired
                    interface: eth-w
                    gateway: [198.18.1.1, "2001:2:1::1"]
                    weight: 2
                  - name: wifi
                    interface: wlan-w
                    gateway: [198.18.2.1, "2001:2:2::1"]
                policies:
                  - protocol: udp
                    destination: [198.19.0.1, "2001:2:ff::1"]
                    uplink: wifi
                  - protocol: icmp
                    bypass: true
                """)
    ]

    /// Every example under examples/, read when the suite is built.
    static let exampleCases: [Case] = Paths.exampleNames.compactMap { example in
        let text = try? Paths.read(Paths.examples.appendingPathComponent("\(example).yaml"))
        return text.map { Case(name: "examples/\(example).yaml", yaml: $0) }
    }

    /// Each script, run in a fresh namespace whose interfaces match the config, exits 0 and
    /// says nothing on stderr; then the kernel holds what the plan says, family by family.
    @Test(
        "the script loads and builds the state", .enabled(if: lab, "needs root and network namespaces"),
        arguments: exampleCases + constructCases, DryRunFormat.allCases)
    func scriptLoads(_ labCase: Case, format: DryRunFormat) throws {
        let config = try labCase.config()
        let state = Planner.plan(config)
        try Namespaces.with(["host", "peer"]) { names in
            let host = names[0]
            try Self.wireGateways(config, host: host, peer: names[1])
            try Self.runScript(DryRun.script(state, format: format), in: host)
            try Self.expectSysctls(state, in: host)
            try Self.expectRulesAndRoutes(state, in: host)
            switch format {
            case .iptables: try Self.expectIptables(state, in: host)
            case .nft: try Self.expectNftTable(state, in: host)
            }
        }
    }

    /// A veth pair per uplink; the host end gets an address next to each of the uplink's
    /// gateways (same /24 or /64), so every gateway is on-link whatever range it is from.
    static func wireGateways(_ config: Config, host: String, peer: String) throws {
        for (index, uplink) in config.uplinks.enumerated() {
            try must([
                "ip", "link", "add", uplink.interface, "netns", host, "type", "veth", "peer", "name", "p\(index + 1)",
                "netns", peer
            ])
            for gateway in uplink.gateways {
                var bytes = gateway.bytes
                bytes[bytes.count - 1] = bytes.last == 2 ? 3 : 2
                let length = gateway.family == .ipv4 ? 24 : 64
                try must(
                    ["ip", "-n", host, "addr", "add", "\(IPAddress(bytes: bytes)!)/\(length)", "dev", uplink.interface]
                        + (gateway.family == .ipv6 ? ["nodad"] : []))
            }
            try must(["ip", "-n", host, "link", "set", uplink.interface, "up"])
            try must(["ip", "-n", peer, "link", "set", "p\(index + 1)", "up"])
        }
        // The interfaces services take outside clients from (their route_localnet).
        let uplinkInterfaces = Set(config.uplinks.map(\.interface))
        for (index, name) in config.services.flatMap(\.interfaces).filter({ !uplinkInterfaces.contains($0) })
            .enumerated()
        {
            try must([
                "ip", "link", "add", name, "netns", host, "type", "veth", "peer", "name", "s\(index + 1)", "netns", peer
            ])
        }
    }

    /// As many rules and routes tagged 117 per family as the plan has (a multipath route is
    /// one route, its nexthops on the lines after it).
    static func expectRulesAndRoutes(_ state: DesiredState, in namespace: String) throws {
        for family in IPFamily.allCases {
            let flag = family == .ipv4 ? "-4" : "-6"
            let rules = try must(["ip", flag, "-n", namespace, "rule", "show"]).split(separator: "\n").filter {
                $0.contains("proto 117")
            }
            #expect(
                rules.count == state.rules.filter { $0.family == family }.count,
                "\(family): \(rules.count) rules in the kernel:\n\(rules.joined(separator: "\n"))")
            let routes = try must(["ip", flag, "-n", namespace, "route", "show", "table", "all", "proto", "117"])
                .split(separator: "\n").filter { !$0.hasPrefix(" ") && !$0.hasPrefix("\t") }
            #expect(
                routes.count == state.routes.filter { $0.family == family }.count,
                "\(family): \(routes.count) routes in the kernel:\n\(routes.joined(separator: "\n"))")
            for route in state.routes where route.family == family && route.isMultipath {
                let listed = try must(["ip", flag, "-n", namespace, "route", "show", "table", String(route.table)])
                #expect(
                    listed.components(separatedBy: "nexthop").count - 1 == route.nexthops.count,
                    "table \(route.table):\n\(listed)")
            }
        }
    }

    /// Per tool: every chain the script creates, and as many rules as it appends.
    static func expectIptables(_ state: DesiredState, in namespace: String) throws {
        let commands = IptablesTranslation(state.nftables).commands()
        for family in IPFamily.allCases {
            let tool = IptablesTranslation.tool(family)
            let mine = commands.filter { $0.first == tool }
            let saved = try must(["ip", "netns", "exec", namespace, "\(tool)-save"])
            for command in mine where command.contains("-N") {
                #expect(saved.contains(":\(command.last!) "), "\(tool): chain \(command.last!) missing:\n\(saved)")
            }
            let appended = mine.filter { $0.contains("-A") }.count
            let inKernel = saved.split(separator: "\n").filter { $0.hasPrefix("-A ") && $0.contains("UPL-") }.count
            #expect(inKernel == appended, "\(tool): \(appended) rules appended, \(inKernel) in \(tool)-save:\n\(saved)")
        }
        let families = Set(
            state.nftables.chains.flatMap(\.rules).flatMap(\.matches).compactMap { match -> IPFamily? in
                if case .family(let family) = match { return family }
                return nil
            })
        for family in IPFamily.allCases {
            let used = commands.contains { $0.first == IptablesTranslation.tool(family) }
            #expect(
                used == families.contains(family),
                "\(IptablesTranslation.tool(family)) used: \(used), the table serves \(families)")
        }
    }

    /// Every chain, map, set and counter of the plan is in the kernel's table.
    static func expectNftTable(_ state: DesiredState, in namespace: String) throws {
        let listed = try must(["ip", "netns", "exec", namespace, "nft", "list", "table", "inet", Ownership.nftTableName]
        )
        let table = state.nftables
        let needles =
            table.chains.map { "chain \($0.name) {" } + table.maps.map { "map \($0.name) {" }
            + table.sets.map { "set \($0.name) {" } + table.counters.map { "counter \($0) {" }
        for needle in needles {
            #expect(listed.contains(needle), "'\(needle)' missing:\n\(listed)")
        }
    }

    // MARK: Behaviour

    /// One connection at a time (one UDP datagram from a fresh socket, so a fresh source port)
    /// from `host` to 198.19.0.1 behind every uplink: the n-th connection must leave by the
    /// uplink of slot n mod W, in both forms.
    @Test(
        "connections follow the slot order", .enabled(if: lab, "needs root and network namespaces"),
        arguments: DryRunFormat.allCases)
    func connectionsFollowTheSlots(format: DryRunFormat) throws {
        let config = try Self.cases[0].config()
        let state = Planner.plan(config)
        let order = smoothSlotOrder(weights: state.uplinks.map(\.slots))
        try Namespaces.with(["host", "peer"]) { names in
            let (host, peer) = (names[0], names[1])
            for name in names {
                try must(["ip", "netns", "exec", name, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"])
            }
            try Self.wire(config, host: host, peer: peer)
            try must(["ip", "-n", peer, "addr", "add", "198.19.0.1/32", "dev", "lo"])
            // Local sockets need a first route to send at all; the output hook then reroutes by mark.
            try must(["ip", "-n", host, "route", "add", "default", "via", "198.18.1.1"])
            let counters = config.uplinks.indices.map { "p\($0 + 1)" }
            let countingRules = counters.map { "\t\tudp dport 9 iifname \"\($0)\" counter name \"\($0)\"" }
            try must(
                ["ip", "netns", "exec", peer, "nft", "-f", "-"],
                input: """
                    table ip lab {
                    \(counters.map { "\tcounter \($0) { }" }.joined(separator: "\n"))
                    \tchain in { type filter hook prerouting priority 0; policy accept;
                    \(countingRules.joined(separator: "\n"))
                    \t}
                    }
                    """)
            try Self.runScript(DryRun.script(state, format: format), in: host)

            var seen: [Int] = []
            var before = try Self.arrivals(counters, in: peer)
            for _ in 0..<(2 * order.count) {
                let send = try Namespaces.exec(host, ["bash", "-c", "echo uplinkctl > /dev/udp/198.19.0.1/9"])
                #expect(send.status == 0, "sending failed:\n\(send.stderr)")
                // The first datagram on a path waits for ARP: give it a moment to arrive.
                var after = before
                for _ in 0..<50 where after == before {
                    usleep(20_000)
                    after = try Self.arrivals(counters, in: peer)
                }
                let arrived = counters.indices.filter { after[$0] > before[$0] }
                #expect(arrived.count == 1, "the datagram should arrive on exactly one uplink: \(before) → \(after)")
                seen += arrived
                before = after
            }
            #expect(seen == order + order, "connections took uplinks \(seen), the slot order is \(order)")
        }
    }

    /// A config of IPv4 uplinks balances IPv4 only, and its iptables form has no ip6tables part;
    /// but the nft table is `inet`, so without `meta nfproto ipv4` on the jumps into `local-v4` and `forwarded-v4`
    /// an IPv6 connection (here a datagram to ff02::1 over the first uplink's own link-local
    /// address) would take a slot, a mark and a count.
    @Test("IPv6 connections are not balanced (nft form)", .enabled(if: lab, "needs root and network namespaces"))
    func ipv6IsNotBalanced() throws {
        let config = try Self.cases[0].config()
        let state = Planner.plan(config)
        try Namespaces.with(["host", "peer"]) { names in
            let (host, peer) = (names[0], names[1])
            // Link-local addresses usable at once, so the datagram has a source.
            try must(["ip", "netns", "exec", host, "sysctl", "-qw", "net.ipv6.conf.default.accept_dad=0"])
            try Self.wire(config, host: host, peer: peer)
            try Self.runScript(DryRun.script(state, format: .nft), in: host)
            let interface = config.uplinks[0].interface
            let send = try Namespaces.exec(host, ["bash", "-c", "echo uplinkctl > /dev/udp/ff02::1%\(interface)/9"])
            #expect(send.status == 0, "sending failed:\n\(send.stderr)")
            let balanced = try state.uplinks.map { planned in
                let text = try must([
                    "ip", "netns", "exec", host, "nft", "list", "counter", "inet", Ownership.nftTableName,
                    planned.connectionCounter
                ])
                return text.range(of: "packets 0 ") == nil ? planned.uplink.name : nil
            }.compactMap { $0 }
            #expect(balanced.isEmpty, "an IPv6 connection was balanced onto \(balanced)")
        }
    }

    // MARK: Helpers

    /// A veth pair per uplink, host end addressed so the gateway is on-link.
    static func wire(_ config: Config, host: String, peer: String) throws {
        for (index, uplink) in config.uplinks.enumerated() {
            let n = index + 1
            try must([
                "ip", "link", "add", uplink.interface, "netns", host, "type", "veth", "peer", "name", "p\(n)", "netns",
                peer
            ])
            try must(["ip", "-n", host, "addr", "add", "198.18.\(n).2/24", "dev", uplink.interface])
            try must(["ip", "-n", peer, "addr", "add", "198.18.\(n).1/24", "dev", "p\(n)"])
            try must(["ip", "-n", host, "link", "set", uplink.interface, "up"])
            try must(["ip", "-n", peer, "link", "set", "p\(n)", "up"])
        }
    }

    static func runScript(_ script: String, in namespace: String) throws {
        let result = try Namespaces.exec(namespace, ["sh", "-s"], input: script)
        #expect(result.status == 0, "the script exited \(result.status):\n\(result.stderr)\n\(script)")
        #expect(result.stderr.isEmpty, "the script complained:\n\(result.stderr)")
    }

    static func expectRoutingState(_ state: DesiredState, config: Config, in namespace: String) throws {
        let rules = try must(["ip", "-n", namespace, "rule", "show"]).split(separator: "\n").map(String.init)
        func hasRule(_ priority: UInt32, _ parts: [String]) -> Bool {
            rules.contains { line in line.hasPrefix("\(priority):") && parts.allSatisfy { line.contains($0) } }
        }
        #expect(
            hasRule(
                config.rulePriority - 1,
                ["not from all fwmark 0/\(hex(config.markMask))", "lookup main", "suppress_prefixlength 0", "proto 117"]
            ),
            "the exemption rule is missing:\n\(rules.joined(separator: "\n"))")
        for uplink in config.uplinks {
            #expect(
                hasRule(
                    config.rulePriority,
                    ["fwmark \(hex(uplink.mark))/\(hex(config.markMask))", "lookup \(uplink.table)", "proto 117"]),
                "the rule of \(uplink.name) is missing:\n\(rules.joined(separator: "\n"))")
            let routes = try must(["ip", "-n", namespace, "route", "show", "table", String(uplink.table)])
            let expected =
                uplink.gateway(.ipv4).map { "default via \($0) dev \(uplink.interface) proto 117" }
                ?? "default dev \(uplink.interface) proto 117"
            #expect(
                routes.split(separator: "\n").contains { $0.hasPrefix(expected) },
                "table \(uplink.table) lacks '\(expected)':\n\(routes)")
        }
        #expect(state.rules.count == config.uplinks.count + 1)
    }

    /// /proc/sys/net read inside the namespace shows the namespace's own settings.
    static func expectSysctls(_ state: DesiredState, in namespace: String) throws {
        #expect(!state.sysctls.isEmpty)
        for setting in state.sysctls {
            let value = try must(["ip", "netns", "exec", namespace, "cat", setting.procPath]).trimmingCharacters(
                in: .whitespacesAndNewlines)
            #expect(value == setting.value, "\(setting.procPath) is \(value), not \(setting.value)")
        }
    }

    static func arrivals(_ counters: [String], in namespace: String) throws -> [Int] {
        try counters.map { name in
            let text = try must(["ip", "netns", "exec", namespace, "nft", "list", "counter", "ip", "lab", name])
            guard let range = text.range(of: #"packets (\d+)"#, options: .regularExpression) else { return -1 }
            return Int(text[range].dropFirst("packets ".count)) ?? -1
        }
    }
}
