import Foundation
import TestSupport
import Testing

@testable import UplinkCore

/// `uplinkctl apply/diff/flush/status --netns` on the lab host, with real connections and the
/// kernel's own tools (ip, nft, sysctl) as witnesses. See Support/Lab.swift for the layout.
@Suite(
    "apply, diff, flush and status in the lab", .serialized,
    .enabled(if: Namespaces.enabled, "needs root and network namespaces"))
struct ApplyLabTests {
    static let lab = try! Paths.read(Paths.examples.appendingPathComponent("lab.yaml"))

    static func yaml(balance: String = "nth", weights: [Int] = [1, 1, 1], interfaces: [String] = ["up1", "up2", "up3"])
        -> String
    {
        "balance: \(balance)\ntraffic: [local, forwarded]\nuplinks:\n"
            + zip(weights, interfaces).enumerated().map { index, pair in
                "  - {name: up\(index + 1), interface: \(pair.1), gateway: 198.18.\(index + 1).1, weight: \(pair.0)}"
            }.joined(separator: "\n") + "\n"
    }

    static func apply(_ lab: Lab, _ config: String, environment: [String: String] = [:]) throws -> ShellResult {
        try UplinkctlCLI.run(["apply", "--netns", lab.host, config], environment: environment)
    }

    static func diff(_ lab: Lab, _ config: String) throws -> ShellResult {
        try UplinkctlCLI.run(["diff", "--netns", lab.host, config])
    }

    // MARK: Balancing

    @Test("new connections take the uplinks in slot order", arguments: [[1, 1, 1], [2, 1, 1]])
    func slotOrder(weights: [Int]) throws {
        let yaml = Self.yaml(weights: weights)
        let state = Planner.plan(try ConfigParser.parse(yaml, file: "test.yaml").get())
        let order = smoothSlotOrder(weights: state.uplinks.map(\.slots)).map { $0 + 1 }
        try Lab.with { lab in
            try UplinkctlCLI.withConfig(yaml) { config in
                let applied = try Self.apply(lab, config)
                try #require(applied.status == 0, "apply failed:\n\(applied.stderr)")
                let batches = try lab.slotOrderBatches(order)
                for batch in batches {
                    #expect(
                        batch.seen == batch.expected, "\(batch.what): uplinks \(batch.seen), expected \(batch.expected)"
                    )
                }
                let counter = batches.map(\.seen.count).reduce(0, +)
                // status counts what happened: every connection, by uplink.
                let summary = try lab.status(config)
                let perUplink = (1...3).map { n in (0..<counter).filter { order[$0 % order.count] == n }.count }
                #expect(summary.uplinks.map(\.connections) == perUplink.map(UInt64.init))
                #expect(summary.inSync && summary.uplinks.allSatisfy { $0.state == "up" })
                let text = try UplinkctlCLI.run(["status", "--netns", lab.host, config]).stdout
                #expect(text.hasPrefix("installed, in sync with the config; balance: nth\n"), "\(text)")
                #expect(
                    text.contains("share of new connections (since apply) and of bytes both ways")
                        && text.contains("█"), "\(text)")
                // The LAN is reached directly, masqueraded by nothing: the LAN client sees the host's LAN address.
                #expect(try lab.echo(from: .host, .udp, count: 1, to: Lab.lanClientAddress) == ["198.18.200.1 eth0"])
            }
        }
    }

    /// 3:2:1 drawn at random: each uplink's share of 120 UDP flows within 4 standard deviations.
    @Test func randomModeUsesEveryUplinkInProportion() throws {
        let yaml = Self.yaml(balance: "random", weights: [3, 2, 1])
        try Lab.with { lab in
            try UplinkctlCLI.withConfig(yaml) { config in
                try #require(try Self.apply(lab, config).status == 0)
                let count = 120
                let seen = try lab.connections(from: .host, .udp, count: count)
                #expect(!seen.contains(nil))
                for (uplink, weight) in zip(1...3, [3.0, 2.0, 1.0]) {
                    let p = weight / 6
                    let observed = Double(seen.filter { $0 == uplink }.count)
                    let sigma = (Double(count) * p * (1 - p)).squareRoot()
                    #expect(
                        abs(observed - Double(count) * p) <= 4 * sigma,
                        "uplink \(uplink): \(observed) of \(count), expected \(Double(count) * p)")
                }
            }
        }
    }

    /// apply's table is nft's own table for the dry-run's text: same listing, line for line.
    @Test func applyBuildsTheTableNftBuildsFromTheDryRun() throws {
        let config = try ConfigParser.parse(Self.lab, file: "lab.yaml").get()
        try Lab.with { lab in
            let state = Planner.plan(config, facts: try lab.hostAddresses())
            try UplinkctlCLI.withConfig(Self.lab) { config in
                try #require(try Self.apply(lab, config).status == 0)
            }
            let ours = try must(["ip", "netns", "exec", lab.host, "nft", "list", "table", "inet", "uplinkctl"])
            try must(["ip", "netns", "exec", lab.lan, "nft", "-f", "-"], input: NftText.table(state.nftables))
            let nfts = try must(["ip", "netns", "exec", lab.lan, "nft", "list", "table", "inet", "uplinkctl"])
            #expect(ours == nfts)
        }
    }

    // MARK: In sync, out of sync

    @Test func reapplyWritesNothingAndDiffRepairs() throws {
        try Lab.with { lab in
            try UplinkctlCLI.withConfig(Self.lab) { config in
                try #require(try Self.apply(lab, config).status == 0)
                let handles = try must(["ip", "netns", "exec", lab.host, "nft", "-a", "list", "ruleset"])
                let before = try KernelSnapshot(lab.host)
                let again = try Self.apply(lab, config)
                #expect(again.status == 0 && again.stdout.contains("nothing changed"), "\(again.stdout)\(again.stderr)")
                // Same handles: not one rule was rewritten.
                #expect(try must(["ip", "netns", "exec", lab.host, "nft", "-a", "list", "ruleset"]) == handles)
                #expect(try KernelSnapshot(lab.host) == before)
                #expect(try Self.diff(lab, config).status == 0)

                // Break one of each by hand.
                try must([
                    "ip", "-n", lab.host, "rule", "del", "fwmark", "0x200/0xff00", "lookup", "111", "priority", "31000"
                ])
                try must(["ip", "-n", lab.host, "route", "del", "default", "table", "112"])
                let listed = try must([
                    "ip", "netns", "exec", lab.host, "nft", "-a", "list", "chain", "inet", "uplinkctl", "local-v4"
                ])
                let line = try #require(listed.split(separator: "\n").first { $0.contains("ct state != new return") })
                let handle = String(line.split(separator: " ").last!)
                try must([
                    "ip", "netns", "exec", lab.host, "nft", "delete", "rule", "inet", "uplinkctl", "local-v4", "handle",
                    handle
                ])
                try must([
                    "ip", "netns", "exec", lab.host, "nft", "delete", "element", "inet", "uplinkctl", "slots-v4",
                    "{ 1 }"
                ])
                try must(["ip", "netns", "exec", lab.host, "sysctl", "-qw", "net.ipv4.conf.up1.rp_filter=1"])
                // A rule with our tag but a selector uplinkctl never writes: ours, and not wanted.
                try must([
                    "ip", "-n", lab.host, "rule", "add", "to", "198.18.7.0/24", "lookup", "110", "priority", "31000",
                    "protocol", "117"
                ])

                let diff = try Self.diff(lab, config)
                #expect(diff.status == 1)
                for needle in [
                    "+ ip rule add fwmark 0x200/0xff00 lookup 111 priority 31000 protocol 117",
                    "+ ip route add default via 198.18.3.1 dev up3 table 112 proto 117 realm 3",
                    "+ nft insert rule inet uplinkctl local-v4 position", "ct state != new return",
                    "+ nft add element inet uplinkctl slots-v4 { 1 : goto new-up2 }",
                    "+ sysctl -w net.ipv4.conf.up1.rp_filter=2 # now 1",
                    "- ip rule del priority 31000 lookup 110 protocol 117 # with selectors uplinkctl does not write"
                ] {
                    #expect(diff.stdout.contains(needle), "diff does not name '\(needle)':\n\(diff.stdout)")
                }
                #expect(diff.stdout.split(separator: "\n").count == 6, "\(diff.stdout)")
                #expect(try Self.apply(lab, config).status == 0)
                #expect(try Self.diff(lab, config).status == 0)
                let repaired = try KernelSnapshot(lab.host)
                // The repaired rule sits after the others of its priority: the same rules, another order.
                #expect(repaired.rules.split(separator: "\n").sorted() == before.rules.split(separator: "\n").sorted())
                #expect(repaired.routes == before.routes)
                #expect(repaired.ruleset == before.ruleset)
                #expect(repaired.sysctls == before.sysctls)
                #expect(try lab.connections(from: .host, .udp, count: 3).allSatisfy { $0 != nil })
            }
        }
    }

    /// A weight change and a removed uplink change only their own objects; a connection on an
    /// uplink that stays keeps its uplink and keeps flowing through both applies.
    @Test func aChangedConfigMovesOnlyWhatChanged() throws {
        try Lab.with { lab in
            try UplinkctlCLI.withConfig(Self.yaml()) { first in
                try #require(try Self.apply(lab, first).status == 0)
                // Connection 0 of the cycle goes by up1: a flow that stays open across the changes.
                let flow = try LongFlow(from: lab.host)
                defer { flow.close() }
                #expect(try flow.exchange() == "198.18.1.2 g1")
                let handles = try must([
                    "ip", "netns", "exec", lab.host, "nft", "-a", "list", "chain", "inet", "uplinkctl", "via-up1"
                ])

                try UplinkctlCLI.withConfig(Self.yaml(weights: [1, 2, 1])) { second in
                    let applied = try Self.apply(lab, second)
                    #expect(applied.status == 0, "\(applied.stderr)")
                    let changed = applied.stdout.split(separator: "\n").filter {
                        $0.hasPrefix("+") || $0.hasPrefix("-")
                    }
                    #expect(
                        changed.allSatisfy { $0.contains("slots") },
                        "a weight change touched more than the slots:\n\(applied.stdout)")
                }
                #expect(try flow.exchange() == "198.18.1.2 g1")
                try UplinkctlCLI.withConfig(Self.yaml(weights: [1, 1])) { third in
                    let applied = try Self.apply(lab, third)
                    #expect(applied.status == 0, "\(applied.stdout)\(applied.stderr)")
                    #expect(
                        !applied.stdout.contains("up1 ") && !applied.stdout.contains("via-up1"),
                        "up1 was touched:\n\(applied.stdout)")
                    #expect(try Self.diff(lab, third).status == 0)
                }
                #expect(try flow.exchange() == "198.18.1.2 g1")
                #expect(
                    try must([
                        "ip", "netns", "exec", lab.host, "nft", "-a", "list", "chain", "inet", "uplinkctl", "via-up1"
                    ]) == handles)
            }
        }
    }

    // MARK: Failure and ownership

    @Test func aFailedApplyLeavesEverythingAsItWas() throws {
        try Lab.with { lab in
            try Self.addForeignObjects(lab)
            let pristine = try KernelSnapshot(lab.host)
            // A missing interface in the last uplink: refused before anything is touched.
            try UplinkctlCLI.withConfig(Self.yaml(interfaces: ["up1", "up2", "up9"])) { config in
                let result = try Self.apply(lab, config)
                #expect(result.status == 1)
                #expect(result.stderr.contains("uplink up3: interface up9 does not exist"), "\(result.stderr)")
            }
            #expect(try KernelSnapshot(lab.host) == pristine)

            // A refusal injected at each step of a fresh apply: 3 routes, 4 rules, 4 sysctls, the nft batch.
            try UplinkctlCLI.withConfig(Self.lab) { config in
                for step in [1, 4, 8, 11, 12] {
                    let result = try Self.apply(lab, config, environment: ["UPLINKCTL_FAULT_AT": String(step)])
                    #expect(
                        result.status == 1 && result.stderr.contains("refusal injected"),
                        "step \(step): \(result.stderr)")
                    #expect(try KernelSnapshot(lab.host) == pristine, "step \(step) left a trace")
                }
                try #require(try Self.apply(lab, config).status == 0)
            }
            // A refusal after the nft batch (while the removed uplink's rule is deleted) undoes the batch too.
            let installed = try KernelSnapshot(lab.host)
            try UplinkctlCLI.withConfig(Self.yaml(weights: [1, 1])) { config in
                // Steps: the nft batch, delete up3's rule, delete its route, restore up3's rp_filter.
                let result = try Self.apply(lab, config, environment: ["UPLINKCTL_FAULT_AT": "3"])
                #expect(result.status == 1, "\(result.stdout)\(result.stderr)")
            }
            let after = try KernelSnapshot(lab.host)
            #expect(
                after.rules == installed.rules && after.routes == installed.routes && after.sysctls == installed.sysctls
            )
            #expect(after.ruleset == installed.ruleset, "the nft batch was not undone")
        }
    }

    @Test func foreignObjectsSurviveAndFlushRestoresTheLab() throws {
        try Lab.with { lab in
            try Self.addForeignObjects(lab)
            let pristine = try KernelSnapshot(lab.host)
            let foreign = try Self.foreignObjects(lab)
            try UplinkctlCLI.withConfig(Self.lab) { config in
                try #require(try Self.apply(lab, config).status == 0)
                #expect(try Self.foreignObjects(lab) == foreign)
                try #require(try Self.apply(lab, config).status == 0)
                #expect(try Self.foreignObjects(lab) == foreign)
                try UplinkctlCLI.withConfig(Self.yaml(weights: [1, 1])) { smaller in
                    let failed = try Self.apply(lab, smaller, environment: ["UPLINKCTL_FAULT_AT": "2"])
                    #expect(failed.status == 1 && failed.stderr.contains("refusal injected"), "\(failed.stderr)")
                }
                #expect(try Self.foreignObjects(lab) == foreign)
            }
            let flushed = try UplinkctlCLI.run(["flush", "--netns", lab.host])
            #expect(flushed.status == 0, "\(flushed.stderr)")
            #expect(try KernelSnapshot(lab.host) == pristine)
            #expect(try UplinkctlCLI.run(["flush", "--netns", lab.host]).stdout.contains("nothing to flush"))
        }
    }

    /// A setting someone changes after apply is theirs: flush puts back only what still holds
    /// the value uplinkctl wrote.
    @Test func flushLeavesASettingChangedSince() throws {
        try Lab.with { lab in
            let pristine = try KernelSnapshot(lab.host)
            try UplinkctlCLI.withConfig(Self.lab) { config in
                try #require(try Self.apply(lab, config).status == 0)
            }
            try must(["ip", "netns", "exec", lab.host, "sysctl", "-qw", "net.ipv4.conf.up1.rp_filter=1"])
            #expect(try UplinkctlCLI.run(["flush", "--netns", lab.host]).status == 0)
            let after = try KernelSnapshot(lab.host)
            #expect(
                after.sysctls
                    == pristine.sysctls.replacingOccurrences(
                        of: "net.ipv4.conf.up1.rp_filter = 0", with: "net.ipv4.conf.up1.rp_filter = 1"))
            #expect(
                after.rules == pristine.rules && after.routes == pristine.routes && after.ruleset == pristine.ruleset)
        }
    }

    /// 40 uplinks (hundreds of messages in one nft transaction, as many acknowledgements) and
    /// weights 1000:999:… (a slots map of thousands of elements, more than one netlink
    /// attribute can hold): applied, in sync, flushed.
    @Test(arguments: [(40, false), (3, true)])
    func largeConfigs(uplinks: Int, heavy: Bool) throws {
        try Namespaces.with(["host", "peer"]) { names in
            let (host, peer) = (names[0], names[1])
            let links = (1...uplinks).flatMap { n in
                ["link add u\(n) netns \(host) type veth peer name p\(n) netns \(peer)"]
            }
            try must(["ip", "-batch", "-"], input: links.joined(separator: "\n") + "\n")
            let addresses = (1...uplinks).flatMap { n in ["addr add 198.18.\(n).2/24 dev u\(n)", "link set u\(n) up"] }
            try must(["ip", "-n", host, "-batch", "-"], input: addresses.joined(separator: "\n") + "\n")
            let yaml =
                "uplinks:\n"
                + (1...uplinks).map { n in
                    "  - {name: u\(n), interface: u\(n), gateway: 198.18.\(n).1, weight: \(heavy ? 1001 - n : 1)}"
                }.joined(separator: "\n") + "\n"
            try UplinkctlCLI.withConfig(yaml) { config in
                let applied = try UplinkctlCLI.run(["apply", "--netns", host, config])
                #expect(applied.status == 0, "\(applied.stderr)")
                #expect(try UplinkctlCLI.run(["diff", "--netns", host, config]).status == 0)
                let slots = try must([
                    "ip", "netns", "exec", host, "nft", "list", "map", "inet", "uplinkctl", "slots-v4"
                ])
                let expected = heavy ? (1...uplinks).map { 1001 - $0 }.reduce(0, +) : uplinks
                #expect(slots.components(separatedBy: "goto new-").count - 1 == expected)
                #expect(try UplinkctlCLI.run(["flush", "--netns", host]).status == 0)
                #expect(try must(["ip", "netns", "exec", host, "nft", "list", "ruleset"]).isEmpty)
            }
        }
    }

    /// Another program's rule, routes, nft table and iptables rule, in the host.
    static func addForeignObjects(_ lab: Lab) throws {
        try must(["ip", "-n", lab.host, "rule", "add", "fwmark", "0x5", "lookup", "200", "priority", "31000"])
        try must(["ip", "-n", lab.host, "route", "add", "198.19.5.0/24", "via", "198.18.2.1", "table", "200"])
        try must(["ip", "-n", lab.host, "route", "add", "198.19.6.0/24", "via", "198.18.3.1"])
        try must(
            ["ip", "netns", "exec", lab.host, "nft", "-f", "-"],
            input: """
                table ip foreign {
                \tchain out {
                \t\ttype filter hook output priority 0; policy accept;
                \t\tmeta mark 0x5 counter
                \t}
                }
                """)
        try must([
            "ip", "netns", "exec", lab.host, "iptables", "-t", "mangle", "-A", "OUTPUT", "-p", "udp", "--dport", "9999",
            "-j", "MARK", "--set-mark", "5"
        ])
    }

    static func foreignObjects(_ lab: Lab) throws -> [String] {
        [
            try must(["ip", "-n", lab.host, "rule", "show", "priority", "31000"]).split(separator: "\n").filter {
                !$0.contains("proto 117")
            }.joined(separator: "\n"),
            try must(["ip", "-n", lab.host, "route", "show", "table", "200"]),
            try must(["ip", "-n", lab.host, "route", "show", "198.19.6.0/24"]),
            try must(["ip", "netns", "exec", lab.host, "nft", "list", "table", "ip", "foreign"]),
            try must(["ip", "netns", "exec", lab.host, "iptables-save", "-t", "mangle"]).split(separator: "\n").filter {
                $0.hasPrefix("-A")
            }.joined(separator: "\n")
        ]
    }
}

/// One UDP flow kept open (one socket, one conntrack entry): each exchange sends a datagram
/// and returns the server's answer, "198.18.N.2 gN" for uplink N.
final class LongFlow {
    private let process = Process()
    private let input = Pipe()
    private let output = Pipe()

    init(from namespace: String) throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "ip", "netns", "exec", namespace, Lab.python, "-u", "-c",
            """
            import socket, sys
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.settimeout(2)
            s.connect(("\(Lab.serviceAddress)", 7))
            for line in sys.stdin:
                s.send(b"x")
                try:
                    print(s.recv(200).decode().strip(), flush=True)
                except OSError as error:
                    print("error:", error, flush=True)
            """
        ]
        process.standardInput = input
        process.standardOutput = output
        process.standardError = output
        try process.run()
    }

    func exchange() throws -> String {
        input.fileHandleForWriting.write(Data("go\n".utf8))
        var line = Data()
        while true {
            let byte = output.fileHandleForReading.readData(ofLength: 1)
            if byte.isEmpty || byte == Data("\n".utf8) { break }
            line.append(byte)
        }
        return String(decoding: line, as: UTF8.self)
    }

    func close() {
        try? input.fileHandleForWriting.close()
        process.waitUntilExit()
    }
}
