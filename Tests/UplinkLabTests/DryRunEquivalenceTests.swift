import Foundation
import TestSupport
import Testing

@testable import UplinkCore

/// The iptables form and the nft form of the dry-run, each run in a fresh lab, must send the
/// same real connections the same way: policies (pinned ports, a protocol split, a balanced
/// subset, a bypass to the LAN) decide alike, and the round-robin counters stay in step.
/// For `balance: hash` the iptables form can only come close (HMARK, not nft's jhash): there
/// the test holds it to what the comment in the script promises.
@Suite(
    "The iptables and nft dry-runs route alike", .serialized,
    .enabled(if: Namespaces.enabled, "needs root and network namespaces"))
struct DryRunEquivalenceTests {
    static let policyConfig = """
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
            destination-port: [22, "6660-6669"]
            uplink: up3
          - source: 198.18.200.0/24
            protocol: udp
            balance: {up1: 1, up3: 1}
        """

    /// What each batch of connections took, in order, as uplink numbers (nil: no answer, or
    /// an answer that left by one uplink with another's address), and LAN answers as text.
    static func policyTraffic(_ format: DryRunFormat) throws -> [String: [String]] {
        let state = Planner.plan(try ConfigParser.parse(policyConfig, file: "policy.yaml").get())
        return try Lab.with { lab in
            let complaints = try lab.run(script: DryRun.script(state, format: format))
            #expect(complaints.isEmpty, "the \(format) script complained:\n\(complaints)")
            // Ports 7, 22 and 53 are served by the lab; 6667 (in a pinned range) only here.
            return try lab.withEchoServer(
                in: lab.server, addresses: [Lab.serviceAddress], ports: [6667],
                devices: (1...LabUplinks.count).map { "g\($0)" }
            ) {
                func took(_ client: Lab.Client, _ transport: Lab.Transport, _ count: Int, port: Int) throws -> [String]
                {
                    try lab.echo(in: lab.namespace(client), transport, count: count, to: Lab.serviceAddress, port: port)
                        .map { Lab.uplink(answer: $0).map(String.init) ?? "?\($0)" }
                }
                var seen: [String: [String]] = [:]
                seen["host udp 53"] = try took(.host, .udp, 4, port: 53)
                seen["host tcp 7 (1)"] = try took(.host, .tcp, 4, port: 7)
                seen["host udp 7"] = try took(.host, .udp, 2, port: 7)
                seen["host tcp 22"] = try took(.host, .tcp, 3, port: 22)
                seen["host tcp 6667"] = try took(.host, .tcp, 2, port: 6667)
                seen["lan udp 7"] = try took(.lan, .udp, 4, port: 7)
                seen["lan udp 53"] = try took(.lan, .udp, 2, port: 53)
                seen["lan tcp 7"] = try took(.lan, .tcp, 3, port: 7)
                seen["host tcp 7 (2)"] = try took(.host, .tcp, 2, port: 7)
                seen["host udp to the LAN"] = try lab.echo(from: .host, .udp, count: 2, to: Lab.lanClientAddress)
                return seen
            }
        }
    }

    @Test("policies send the same connections the same way in both forms")
    func policies() throws {
        let iptables = try Self.policyTraffic(.iptables)
        let nft = try Self.policyTraffic(.nft)
        // Main cycle 1,2,3 over every balanced connection, host or LAN, TCP or UDP; the
        // subset 1:1 its own cycle; pinned and bypassed connections take no slot.
        let expected: [String: [String]] = [
            "host udp 53": ["2", "2", "2", "2"],
            "host tcp 7 (1)": ["1", "2", "3", "1"],
            "host udp 7": ["2", "3"],
            "host tcp 22": ["3", "3", "3"],
            "host tcp 6667": ["3", "3"],
            "lan udp 7": ["1", "3", "1", "3"],
            "lan udp 53": ["2", "2"],
            "lan tcp 7": ["1", "2", "3"],
            "host tcp 7 (2)": ["1", "2"],
            "host udp to the LAN": ["\(Lab.hostLanAddress) eth0", "\(Lab.hostLanAddress) eth0"]
        ]
        for (batch, want) in expected.sorted(by: { $0.key < $1.key }) {
            #expect(
                iptables[batch] == nft[batch],
                "\(batch): iptables form \(iptables[batch] ?? []), nft form \(nft[batch] ?? [])")
            #expect(nft[batch] == want, "\(batch): nft form \(nft[batch] ?? []), expected \(want)")
            #expect(iptables[batch] == want, "\(batch): iptables form \(iptables[batch] ?? []), expected \(want)")
        }
    }

    static let hashConfig = """
        balance: hash
        uplinks:
          - name: up1
            interface: up1
            gateway: 198.18.1.1
            weight: 2
          - name: up2
            interface: up2
            gateway: 198.18.2.1
          - name: up3
            interface: up3
            gateway: 198.18.3.1
        """

    /// Many connections between one pair of addresses all take one uplink; many pairs (the
    /// LAN client's 48 addresses) use every uplink. In both forms, though not necessarily
    /// the same uplink per pair (HMARK is not jhash).
    @Test("hash: one pair of addresses, one uplink; many pairs, every uplink", arguments: DryRunFormat.allCases)
    func hashIsSticky(format: DryRunFormat) throws {
        let state = Planner.plan(try ConfigParser.parse(Self.hashConfig, file: "hash.yaml").get())
        try Lab.with { lab in
            let complaints = try lab.run(script: DryRun.script(state, format: format))
            #expect(complaints.isEmpty, "the script complained:\n\(complaints)")
            let host = try lab.connections(from: .host, .tcp, count: 12) + lab.connections(from: .host, .udp, count: 12)
            #expect(Set(host).count == 1 && host.first! != nil, "the host's connections to one address took \(host)")

            let sources = try lab.addLanClientAddresses(48)
            let answers = try lab.echo(in: lab.lan, .udp, count: 3, to: Lab.serviceAddress, sources: sources)
            #expect(answers.count == 3 * sources.count)
            var used: [Int: Int] = [:]
            for (index, source) in sources.enumerated() {
                let took = answers[(3 * index)..<min(3 * index + 3, answers.count)].map(Lab.uplink(answer:))
                #expect(Set(took).count == 1 && took.first! != nil, "\(source): connections took \(took)")
                if let uplink = took.first ?? nil { used[uplink, default: 0] += 1 }
            }
            #expect(used.keys.sorted() == [1, 2, 3], "48 pairs took uplinks \(used)")
            // Weights 2:1:1: up1 holds half of the slots.
            #expect((used[1] ?? 0) > (used[2] ?? 0) && (used[1] ?? 0) > (used[3] ?? 0), "48 pairs took uplinks \(used)")
        }
    }

    /// HMARK overwrites the whole packet mark: the iptables form must put the bits outside the
    /// mark mask back (a socket's SO_MARK, here 0x10000), and, as its comment says, leaves the
    /// same bits in the conntrack mark, where the nft form leaves the connection's own (0).
    @Test("hash: the packet mark outside the mask survives HMARK", arguments: DryRunFormat.allCases)
    func hashKeepsThePacketMark(format: DryRunFormat) throws {
        let state = Planner.plan(try ConfigParser.parse(Self.hashConfig, file: "hash.yaml").get())
        let outside = hex(~Config.defaultMarkMask)
        try Lab.with { lab in
            try lab.run(script: DryRun.script(state, format: format))
            // A witness after source NAT, in a table of its own in the host.
            try must(
                ["ip", "netns", "exec", lab.host, "nft", "-f", "-"],
                input: """
                    table ip witness {
                    \tcounter kept { }
                    \tcounter marked { }
                    \tcounter copied { }
                    \tchain post {
                    \t\ttype filter hook postrouting priority 300; policy accept;
                    \t\tudp dport 7 meta mark & \(outside) == 0x10000 counter name "kept"
                    \t\tudp dport 7 meta mark & \(hex(Config.defaultMarkMask)) != 0 counter name "marked"
                    \t\tudp dport 7 ct mark & \(outside) == 0x10000 counter name "copied"
                    \t}
                    }
                    """)
            let send = """
                import socket
                for _ in range(5):
                    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                        s.setsockopt(socket.SOL_SOCKET, socket.SO_MARK, 0x10000)
                        s.settimeout(2)
                        s.sendto(b"?\\n", ("\(Lab.serviceAddress)", 7))
                        print(s.recvfrom(64)[0].decode().strip())
                """
            let answers = try must(["ip", "netns", "exec", lab.host, Lab.python, "-c", send]).split(separator: "\n")
                .map(String.init)
            let took = answers.map(Lab.uplink(answer:))
            #expect(took.count == 5 && Set(took).count == 1 && took[0] != nil, "marked datagrams took \(answers)")
            let counters = try must([
                "ip", "netns", "exec", lab.host, "nft", "list", "counters", "table", "ip", "witness"
            ])
            func packets(_ name: String) -> Int {
                guard let start = counters.range(of: "counter \(name) {"),
                    let field = counters[start.upperBound...].range(of: "packets ")
                else { return -1 }
                return Int(counters[field.upperBound...].prefix { $0.isNumber }) ?? -1
            }
            #expect(packets("kept") == 5, "the mark outside the mask was lost:\n\(counters)")
            #expect(packets("marked") == 5, "the packets carry no uplink mark:\n\(counters)")
            #expect(packets("copied") == (format == .iptables ? 5 : 0), "conntrack mark outside the mask:\n\(counters)")
        }
    }
}
