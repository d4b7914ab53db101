import Foundation
import TestSupport
import Testing

@testable import UplinkCore

/// Services in the lab (Support/Lab.swift): connections to a port of the host spread over
/// backends by DNAT. Each backend is a named echo server ("PEER NAME"), so every connection
/// says which backend it met and what source address that backend saw.
///
/// Remote backends are on the LAN (198.18.200.11-13, extra addresses of the LAN namespace);
/// outside clients are the server namespace, reaching the host by an uplink's address; local
/// clients are the host itself. Installed by `uplinkctl apply --netns`, by the nft dry-run
/// script and by the iptables one: the same connections meet the same backends under all three.
@Suite("Services in the lab", .serialized, .enabled(if: Namespaces.enabled, "needs root and network namespaces"))
struct ServiceLabTests {
    static let uplinks = """
        uplinks:
          - {name: up1, interface: up1, gateway: 198.18.1.1}
          - {name: up2, interface: up2, gateway: 198.18.2.1}
          - {name: up3, interface: up3, gateway: 198.18.3.1}

        """
    static let ways: [Installation] = [.apply, .nftScript, .iptablesScript]
    static let lanBackends = [
        (name: "b1", address: "198.18.200.11", port: 8080), (name: "b2", address: "198.18.200.12", port: 8080),
        (name: "b3", address: "198.18.200.13", port: 8080)
    ]

    /// The backend names an answer list names ("198.18.200.1 b2" → "b2").
    static func backends(_ answers: [String]) -> [String] {
        answers.map { String($0.split(separator: " ").last ?? "") }
    }

    /// Weights 2:1:1 give b1 b2 b1 b3 per cycle: the k-th connection meets slot k mod 4, whether
    /// it comes from outside (by uplink 2, whose answers must leave by up2: only gw2 routes
    /// back to the server's address on it) or from the host itself; the backends see the
    /// host's LAN address (masquerade).
    @Test("nth: the k-th connection meets the backend of slot k, from outside and from the host", arguments: ways)
    func nthRemoteBackends(way: Installation) throws {
        let yaml =
            Self.uplinks + """
                services:
                  - name: api
                    port: 8080
                    backends:
                      - {address: 198.18.200.11, port: 8080, weight: 2}
                      - 198.18.200.12:8080
                      - 198.18.200.13:8080

                """
        try Lab.with { lab in
            try lab.install(yaml, by: way)
            _ = try lab.addLanClientAddresses(4)
            try lab.withBackends(in: lab.lan, Self.lanBackends) { _ in
                let outside = try lab.echo(in: lab.server, .tcp, count: 8, to: LabUplinks.address(2), port: 8080)
                let local = try lab.echo(in: lab.host, .tcp, count: 8, to: Lab.hostLanAddress, port: 8080)
                let cycle = ["b1", "b2", "b1", "b3"]
                #expect(
                    Self.backends(outside + local) == Array(repeating: cycle, count: 4).flatMap { $0 },
                    "\(outside + local)")
                #expect(
                    (outside + local).allSatisfy { $0.hasPrefix("\(Lab.hostLanAddress) ") },
                    "the backends saw \(outside + local)")
                // The host's own connection to 127.0.0.1 keeps its way (its loopback source could not leave).
                let loopback = try lab.echo(in: lab.host, .tcp, count: 1, to: "127.0.0.1", port: 8080)
                #expect(loopback.count == 1 && loopback[0].hasPrefix("error"), "\(loopback)")
                // Connections to a service take no uplink slot: the host's next one is still slot 0.
                #expect(try lab.connections(from: .host, .tcp, count: 1) == [1])
                if way == .apply {
                    let path = try ServiceLabTests.configPath(yaml)
                    defer { try? FileManager.default.removeItem(atPath: path) }
                    let status = try lab.status(path)
                    let api = try #require(status.services.first)
                    #expect(api.backends.map(\.connections) == [8, 4, 4], "\(api)")
                }
            }
        }
    }

    /// examples/service-backends.yaml as it stands (seed 001), in the lab, whose host it
    /// describes: the LAN client reaches the service on the host's LAN address and meets the
    /// backends, on its own LAN, in turn (hairpin: masquerade brings their answers back through
    /// the host); port 80 is redirected to the host's ports 8001 and 8002, for the LAN and for
    /// the host itself.
    @Test("examples/service-backends.yaml: seed 001 in the lab", arguments: ways)
    func serviceBackendsExample(way: Installation) throws {
        let yaml = try Paths.read(Paths.examples.appendingPathComponent("service-backends.yaml"))
        try Lab.with { lab in
            try lab.install(yaml, by: way)
            _ = try lab.addLanClientAddresses(3)
            try lab.withBackends(in: lab.lan, Array(Self.lanBackends.prefix(2))) { _ in
                let answers = try lab.echo(in: lab.lan, .tcp, count: 4, to: Lab.hostLanAddress, port: 8080)
                #expect(
                    answers
                        == Array(repeating: ["\(Lab.hostLanAddress) b1", "\(Lab.hostLanAddress) b2"], count: 2).flatMap
                    { $0 })
            }
            try lab.withBackends(in: lab.host, [("w1", "0.0.0.0", 8001), ("w2", "0.0.0.0", 8002)]) { _ in
                let outside = try lab.echo(in: lab.lan, .tcp, count: 2, to: Lab.hostLanAddress, port: 80)
                let local = try lab.echo(in: lab.host, .tcp, count: 2, to: Lab.hostLanAddress, port: 80)
                #expect(outside == ["\(Lab.lanClientAddress) w1", "\(Lab.lanClientAddress) w2"], "\(outside)")
                #expect(Self.backends(local) == ["w1", "w2"], "\(local)")
            }
        }
    }

    /// examples/local-replicas.yaml as it stands (seed 003, random): 30 connections from the
    /// LAN, each meets one of the three copies on 127.0.0.1, and all three get some.
    @Test("examples/local-replicas.yaml: seed 003 in the lab", arguments: ways)
    func localReplicasExample(way: Installation) throws {
        let yaml = try Paths.read(Paths.examples.appendingPathComponent("local-replicas.yaml"))
        try Lab.with { lab in
            try lab.install(yaml, by: way)
            let backends = (1...3).map { (name: "b\($0)", address: "127.0.0.1", port: 8080 + $0) }
            try lab.withBackends(in: lab.host, backends) { _ in
                let met = Self.backends(try lab.echo(in: lab.lan, .tcp, count: 30, to: Lab.hostLanAddress, port: 8081))
                #expect(met.allSatisfy { ["b1", "b2", "b3"].contains($0) } && Set(met).count == 3, "\(met)")
            }
        }
    }

    static let replicas =
        uplinks + """
            services:
              - name: replicas
                port: 8081
                interfaces: [lan0]
                backends: [127.0.0.1:8081, 127.0.0.1:8082, 127.0.0.1:8083]

            """

    /// Seed 003: three copies of a service on 127.0.0.1 behind port 8081, for the LAN (by
    /// route_localnet on lan0 alone) and for the host's own clients. A service on 127.0.0.1 that
    /// is not a backend stays out of the LAN's reach, also for a client that routes 127.0.0.1
    /// to the host on purpose (CVE-2020-8558), and so does a backend reached around the
    /// service; without the guard the same packets do reach it, so the hole was real.
    @Test(
        "127.0.0.1 backends: from the LAN by route_localnet on lan0 only, and nothing else on 127.0.0.1",
        arguments: ways)
    func loopbackBackends(way: Installation) throws {
        try Lab.with { lab in
            try lab.install(Self.replicas, by: way)
            let backends = (1...3).map { (name: "b\($0)", address: "127.0.0.1", port: 8080 + $0) }
            try lab.withBackends(in: lab.host, backends + [("secret", "127.0.0.1", 9999)]) { _ in
                let outside = try lab.echo(in: lab.lan, .tcp, count: 6, to: Lab.hostLanAddress, port: 8081)
                let local = try lab.echo(in: lab.host, .tcp, count: 3, to: "127.0.0.1", port: 8081)
                #expect(
                    Self.backends(outside + local) == Array(repeating: ["b1", "b2", "b3"], count: 3).flatMap { $0 },
                    "\(outside + local)")
                #expect(outside.allSatisfy { $0.hasPrefix("\(Lab.lanClientAddress) ") }, "the backends saw \(outside)")
                let settings = try must([
                    "ip", "netns", "exec", lab.host, "sysctl", "-n", "net.ipv4.conf.lan0.route_localnet",
                    "net.ipv4.conf.up1.route_localnet", "net.ipv4.conf.all.route_localnet"
                ])
                #expect(
                    settings.split(separator: "\n") == ["1", "0", "0"], "route_localnet on lan0, up1, all: \(settings)")

                try Self.routeLoopbackToHost(lab)
                let around =
                    try lab.echo(in: lab.lan, .tcp, count: 1, to: "127.0.0.1", port: 9999)
                    + lab.echo(in: lab.lan, .tcp, count: 1, to: "127.0.0.1", port: 8082)
                #expect(
                    !around.contains { $0.hasSuffix(" secret") || $0.hasSuffix(" b2") },
                    "reached from the LAN: \(around)")
                let removeGuard =
                    way == .iptablesScript
                    ? ["iptables", "-t", "mangle", "-F", "UPL-localnet-guard"]
                    : ["nft", "flush", "chain", "inet", Ownership.nftTableName, ServicePlanner.guardChain]
                try must(["ip", "netns", "exec", lab.host] + removeGuard)
                let unguarded = try lab.echo(in: lab.lan, .tcp, count: 1, to: "127.0.0.1", port: 9999)
                #expect(unguarded == ["\(Lab.lanClientAddress) secret"], "without the guard: \(unguarded)")
            }
        }
    }

    /// The LAN client sends to 127.0.0.1 through the host, as an attacker next to it would:
    /// its own local table moved after a rule that routes 127.0.0.1 to the host.
    static func routeLoopbackToHost(_ lab: Lab) throws {
        try must([
            "ip", "netns", "exec", lab.lan, "sysctl", "-qw", "net.ipv4.conf.all.route_localnet=1",
            "net.ipv4.conf.eth0.route_localnet=1"
        ])
        try lab.batch(
            lab.lan,
            [
                "rule add pref 100 lookup local", "rule del pref 0",
                "route add 127.0.0.1/32 via \(Lab.hostLanAddress) dev eth0 src \(Lab.lanClientAddress) table 50",
                "rule add pref 10 to 127.0.0.1/32 lookup 50"
            ])
    }

    /// balance: hash: each client address always meets the same backend, the one nft's jhash of
    /// (client, service address) picks (the iptables form's HMARK hashes otherwise, but as
    /// steadily); several clients spread over all of them.
    @Test("hash: the same client always meets the same backend", arguments: ways)
    func hashIsSticky(way: Installation) throws {
        let yaml =
            Self.uplinks + """
                services:
                  - name: sticky
                    port: 8080
                    balance: hash
                    backends: [198.18.200.11:8080, 198.18.200.12:8080, 198.18.200.13:8080]

                """
        try Lab.with { lab in
            try lab.install(yaml, by: way)
            let clients = try lab.addLanClientAddresses(12).suffix(8)
            try lab.withBackends(in: lab.lan, Self.lanBackends) { _ in
                var met: Set<String> = []
                for client in clients {
                    let seen = Self.backends(
                        try lab.echo(in: lab.lan, .tcp, count: 3, to: Lab.hostLanAddress, port: 8080, sources: [client])
                    )
                    let slot = Int(
                        Jhash.slot(
                            source: client, destination: Lab.hostLanAddress, modulus: 3, seed: NftPlanner.hashSeed))
                    let expected = way == .iptablesScript ? seen.first ?? "" : "b\(slot + 1)"
                    #expect(seen == Array(repeating: expected, count: 3), "client \(client): \(seen)")
                    met.formUnion(seen)
                }
                #expect(met == ["b1", "b2", "b3"], "8 clients met \(met)")
            }
        }
    }

    /// IPv6 listeners with IPv6 backends, masqueraded to the host's LAN address.
    @Test("IPv6: outside and local clients spread over IPv6 backends", arguments: ways)
    func ipv6Backends(way: Installation) throws {
        let yaml =
            Self.uplinks.replacingOccurrences(of: "gateway: 198.18.1.1", with: "gateway: [198.18.1.1, 2001:2:0:1::1]")
                + """
                services:
                  - name: api6
                    port: 8080
                    backends: ["[2001:2:0:200::11]:8080", "[2001:2:0:200::12]:8080"]

                """
        try Lab.with(ipv6: true) { lab in
            try lab.install(yaml, by: way)
            try lab.batch(
                lab.lan, ["addr add 2001:2:0:200::11/64 dev eth0 nodad", "addr add 2001:2:0:200::12/64 dev eth0 nodad"])
            let backends = [
                (name: "b1", address: "2001:2:0:200::11", port: 8080),
                (name: "b2", address: "2001:2:0:200::12", port: 8080)
            ]
            try lab.withBackends(in: lab.lan, backends) { _ in
                let outside = try lab.echo(
                    in: lab.server, .tcp, count: 4, to: LabUplinks.address(1, ipv6: true), port: 8080)
                let local = try lab.echo(in: lab.host, .tcp, count: 2, to: Lab.hostLanAddress6, port: 8080)
                #expect(Self.backends(outside + local) == ["b1", "b2", "b1", "b2", "b1", "b2"], "\(outside + local)")
                #expect(
                    (outside + local).allSatisfy { $0.hasPrefix("\(Lab.hostLanAddress6) ") },
                    "the backends saw \(outside + local)")
            }
        }
    }

    /// diff is clean after apply and names a changed backend; flush removes every object of
    /// the services and puts route_localnet back.
    @Test("diff and flush know services")
    func diffAndFlush() throws {
        try Lab.with { lab in
            let path = try Self.configPath(Self.replicas)
            defer { try? FileManager.default.removeItem(atPath: path) }
            #expect(try UplinkctlCLI.run(["apply", "--netns", lab.host, path]).status == 0)
            #expect(try UplinkctlCLI.run(["diff", "--netns", lab.host, path]).status == 0)
            let changed = Self.replicas.replacingOccurrences(of: "127.0.0.1:8083", with: "127.0.0.1:8084")
            try changed.write(toFile: path, atomically: true, encoding: .utf8)
            let diff = try UplinkctlCLI.run(["diff", "--netns", lab.host, path])
            #expect(diff.status == 1)
            #expect(
                diff.stdout.contains("dnat ip to 127.0.0.1:8084") && diff.stdout.contains("th dport 8084 return"),
                "\(diff.stdout)")
            #expect(try UplinkctlCLI.run(["flush", "--netns", lab.host]).status == 0)
            let ruleset = try must(["ip", "netns", "exec", lab.host, "nft", "list", "ruleset"])
            #expect(!ruleset.contains("uplinkctl"), "\(ruleset)")
            let localnet = try must([
                "ip", "netns", "exec", lab.host, "sysctl", "-n", "net.ipv4.conf.lan0.route_localnet"
            ])
            #expect(localnet.trimmingCharacters(in: .whitespacesAndNewlines) == "0")
        }
    }

    /// `uplinkctl run` checks each backend with a TCP connect: a backend that stops answering
    /// is out of the map (its slot to the others) and its connections are flushed, while the
    /// other backends' flows go on; back, it gets its slot again. The checks themselves pass
    /// untranslated and take no slot (the cycle goes on exactly).
    @Test("run takes a dead backend's slot out and puts it back")
    func runChecksBackends() throws {
        let yaml =
            Self.uplinks + """
                services:
                  - name: replicas
                    protocol: [tcp, udp]
                    port: 8081
                    clients: [local]
                    backends: [127.0.0.1:8081, 127.0.0.1:8082, 127.0.0.1:8083]
                  - name: lan
                    port: 8080
                    backends: [198.18.200.11:8080]

                """
        try Lab.with { lab in
            let path = try Self.configPath(yaml)
            defer { try? FileManager.default.removeItem(atPath: path) }
            _ = try lab.addLanClientAddresses(2)
            let backends = (1...3).map { (name: "b\($0)", address: "127.0.0.1", port: 8080 + $0) }
            try lab.withBackends(in: lab.lan, [Self.lanBackends[0]]) { _ in
                try lab.withBackends(in: lab.host, backends) { stop in
                    try RunningUplinkctl.with(host: lab.host, config: path, extra: ["--metrics", "127.0.0.1:9521"]) {
                        run in
                        let flows = try UDPFlows(in: lab.host)
                        let first = try (0..<3).map { _ in try flows.open("127.0.0.1", port: 8081) }
                        #expect(Self.backends(first.map(\.answer)) == ["b1", "b2", "b3"], "\(first)")
                        stop("b2")
                        let line = try run.waitFor("backend replicas-2 127.0.0.1:8082 down")
                        #expect(
                            line.contains(
                                "rounds lost to 127.0.0.1:8082; its 1 slot now "
                                    + "replicas-1; 1 stale conntrack entry flushed"
                            ), "\(line)")
                        #expect(try Self.map(lab, "backends-replicas-v4").contains("1 : goto backend-replicas-1"))
                        let scrape =
                            "import urllib.request; print(urllib.request.urlopen("
                            + "'http://127.0.0.1:9521/metrics', timeout=5).read().decode())"
                        let metrics = try must(["ip", "netns", "exec", lab.host, Lab.python, "-c", scrape])
                        #expect(
                            metrics.contains(
                                "uplinkctl_backend_up{service=\"replicas\",backend=\"replicas-2\","
                                    + "target=\"127.0.0.1:8082\"} 0"
                            ), "\(metrics)")
                        #expect(
                            metrics.contains(
                                "uplinkctl_backend_new_connections_total{service=\"replicas\","
                                    + "backend=\"replicas-1\",target=\"127.0.0.1:8081\"} 1"
                            ), "\(metrics)")
                        #expect(try flows.again(first[0].index).hasSuffix(" b1"))
                        #expect(try flows.again(first[2].index).hasSuffix(" b3"))
                        // The cycle goes on at connection 3: slots 0, 1 (now b1), 2.
                        let next = Self.backends(
                            try lab.echo(in: lab.host, .tcp, count: 3, to: "127.0.0.1", port: 8081))
                        #expect(next == ["b1", "b1", "b3"], "\(next)")
                        try lab.withBackends(in: lab.host, [backends[1]]) { _ in
                            #expect(
                                try run.waitFor("backend replicas-2 127.0.0.1:8082 up").contains(
                                    "rounds answered; its 1 slot back"))
                            let again = Self.backends(
                                try lab.echo(in: lab.host, .tcp, count: 3, to: "127.0.0.1", port: 8081))
                            #expect(again == ["b1", "b2", "b3"], "\(again)")
                            let status = try lab.status(path)
                            #expect(status.services.first?.backends.map { $0.health?.state } == [.up, .up, .up])
                            // Only the test's connections are counted: the checks (every 150 ms, to the
                            // LAN too) were neither balanced, nor left alone, nor translated.
                            #expect(
                                status.services.map { $0.backends.map(\.connections) } == [[4, 2, 3], [0]],
                                "\(status.services)")
                            #expect(
                                status.leftAlone == 0 && status.uplinks.allSatisfy { $0.connections == 0 }, "\(status)")
                        }
                    }
                }
            }
        }
    }

    /// A listener on an address that is not the host's (traffic passing through it): its
    /// connections are translated, and never balanced onto an uplink on the way.
    @Test("a listener address that is not the host's takes no uplink slot")
    func listenerOnAnotherAddress() throws {
        let yaml =
            Self.uplinks + """
                services:
                  - name: passing
                    port: 8080
                    address: 198.18.250.1
                    backends: [198.18.200.11:8080]

                """
        try Lab.with { lab in
            try lab.install(yaml, by: .apply)
            _ = try lab.addLanClientAddresses(2)
            try lab.withBackends(in: lab.lan, [Self.lanBackends[0]]) { _ in
                let answers = try lab.echo(in: lab.lan, .tcp, count: 3, to: "198.18.250.1", port: 8080)
                #expect(Self.backends(answers) == ["b1", "b1", "b1"], "\(answers)")
                let path = try Self.configPath(yaml)
                defer { try? FileManager.default.removeItem(atPath: path) }
                let status = try lab.status(path)
                #expect(status.uplinks.allSatisfy { $0.connections == 0 } && status.leftAlone == 0, "\(status)")
                #expect(status.services.first?.backends.first?.connections == 3)
            }
        }
    }

    static func map(_ lab: Lab, _ name: String) throws -> String {
        try must(["ip", "netns", "exec", lab.host, "nft", "list", "map", "inet", Ownership.nftTableName, name])
    }

    static func configPath(_ yaml: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("uplinkctl-service-\(getpid()).yaml")
            .path
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }
}
