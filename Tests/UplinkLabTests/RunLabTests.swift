import Foundation
import TestSupport
import Testing

@testable import UplinkCore

/// `uplinkctl run` in the lab, with real traffic and the kernel's tools as witnesses: a gateway
/// that stops forwarding, a carrier lost, an interface deleted and re-created, every uplink
/// down; what moves and what stays; signals, the second run, the metrics. The health checks
/// probe the server (198.19.0.1) through each uplink, at the default timings.
@Suite("uplinkctl run in the lab", .serialized, .enabled(if: Namespaces.enabled, "needs root and network namespaces"))
struct RunLabTests {
    static func yaml(balance: String = "nth", weights: [Int] = [1, 1, 1], policies: String = "") -> String {
        "balance: \(balance)\nhealth:\n  targets: [\(Lab.serviceAddress)]\nuplinks:\n"
            + zip(1...3, weights).map { n, weight in
                "  - {name: up\(n), interface: up\(n), gateway: 198.18.\(n).1, weight: \(weight)}"
            }.joined(separator: "\n") + "\n" + policies
    }

    static func slots(_ lab: Lab) throws -> String {
        try must(["ip", "netns", "exec", lab.host, "nft", "list", "map", "inet", "uplinkctl", "slots-v4"])
            .split(separator: "\n").first { $0.contains("elements") }.map(String.init) ?? ""
    }

    /// Stops (or restarts) forwarding in gateway `n`: the link stays up, the path is gone.
    static func forwarding(_ lab: Lab, gateway n: Int, on: Bool) throws {
        try must(["ip", "netns", "exec", lab.gateways[n - 1], "sysctl", "-qw", "net.ipv4.ip_forward=\(on ? 1 : 0)"])
    }

    @Test("a silent gateway: out, its slot and flows moved, healthy flows kept, back when it answers")
    func silentGateway() throws {
        try Lab.with { lab in
            try UplinkctlCLI.withConfig(Self.yaml()) { path in
                try RunningUplinkctl.with(host: lab.host, config: path) { run in
                    let flows = try UDPFlows(in: lab.host)
                    let first = try (0..<3).map { _ in try flows.open(Lab.serviceAddress) }
                    #expect(first.map { Lab.uplink(answer: $0.answer) } == [1, 2, 3], "\(first)")
                    try Self.forwarding(lab, gateway: 2, on: false)
                    let line = try run.waitFor("uplink up2 down")
                    #expect(
                        line.contains(
                            "rounds lost to 198.19.0.1 (carrier up); its 1 slot now up1, up3; 1 connection flushed"),
                        "\(line)")
                    #expect(try Self.slots(lab).contains("0 : goto new-up1, 1 : goto new-up1, 2 : goto new-up3"))
                    // Healthy flows stay where they are; the dead one moves with its next datagram.
                    #expect(try flows.again(first[0].index) == "198.18.1.2 g1")
                    #expect(try flows.again(first[2].index) == "198.18.3.2 g3")
                    let moved = try flows.again(first[1].index)
                    #expect([1, 3].contains(Lab.uplink(answer: moved)), "the dead uplink's flow: \(moved)")
                    // New connections take the re-pointed slots (the cycle goes on at slot 4 of 3).
                    let next = try lab.connections(from: .host, .udp, count: 3)
                    #expect(next.allSatisfy { $0 == 1 || $0 == 3 }, "\(next)")
                    try Self.forwarding(lab, gateway: 2, on: true)
                    #expect(try run.waitFor("uplink up2 up").contains("rounds answered; its 1 slot back"))
                    #expect(try Self.slots(lab).contains("0 : goto new-up1, 1 : goto new-up2, 2 : goto new-up3"))
                    // Probes took no slot and no count: only the test's connections are counted.
                    let status = try lab.status(path)
                    #expect(status.uplinks.map(\.connections).reduce(0, +) == 7, "\(status)")
                    #expect(status.uplinks[1].health?.state == .up && status.uplinks[1].health?.transitions == 2)
                    #expect(status.run?.pid == run.process.processIdentifier)
                }
            }
        }
    }

    @Test("carrier loss takes an uplink out at once, and its return brings it back")
    func carrierLoss() throws {
        try Lab.with { lab in
            try UplinkctlCLI.withConfig(Self.yaml()) { path in
                try RunningUplinkctl.with(host: lab.host, config: path) { run in
                    // Between events, round trips still reach the state file (once a second).
                    usleep(1_500_000)
                    let rtt = try lab.status(path).uplinks.map { $0.health?.lastRTT }
                    #expect(rtt.allSatisfy { $0 != nil && $0! > 0 && $0! < 300 }, "\(rtt)")
                    try must(["ip", "-n", lab.gateways[2], "link", "set", "dn", "down"])
                    #expect(try run.waitFor("uplink up3 down").contains("carrier lost"))
                    #expect(try lab.connections(from: .lan, .tcp, count: 4).allSatisfy { $0 == 1 || $0 == 2 })
                    try must(["ip", "-n", lab.gateways[2], "link", "set", "dn", "up"])
                    try run.waitFor("uplink up3 up")
                }
            }
        }
    }

    /// A PPP or LTE interface that disappears and comes back with another address gets its
    /// route and its `from` rules back, without anyone running a command.
    @Test("an interface deleted and re-created with a new address gets its routes and rules back")
    func interfaceRecreated() throws {
        try Lab.with { lab in
            try UplinkctlCLI.withConfig(Self.yaml()) { path in
                try RunningUplinkctl.with(host: lab.host, config: path) { run in
                    try must(["ip", "-n", lab.host, "link", "del", "up3"])
                    #expect(try run.waitFor("uplink up3 down").contains("interface up3 missing"))
                    try lab.batch(
                        nil, ["link add up3 netns \(lab.host) type veth peer name dn netns \(lab.gateways[2])"])
                    try lab.batch(lab.gateways[2], ["addr add 198.18.3.1/24 dev dn", "link set dn up"])
                    try lab.batch(lab.host, ["addr add 198.18.3.7/24 dev up3", "link set up3 up"])
                    try run.waitFor("uplink up3 up")
                    let rules = try must(["ip", "-n", lab.host, "rule"])
                    #expect(rules.contains("from 198.18.3.7 lookup 112") && !rules.contains("198.18.3.2"), "\(rules)")
                    #expect(
                        try must(["ip", "-n", lab.host, "route", "show", "table", "112"]).contains(
                            "default via 198.18.3.1 dev up3"))
                    let diff = try UplinkctlCLI.run(["diff", "--netns", lab.host, path])
                    #expect(diff.status == 0, "\(diff.stdout)")
                }
            }
        }
    }

    /// A firewall reload that flushes the ruleset, or a script that deletes a rule, wakes run
    /// (nf_tables and rule events), which reads the kernel and puts back what is missing.
    @Test("what another program removes (our nft table, one of our rules) is put back at once")
    func removedObjectsRestored() throws {
        try Lab.with { lab in
            try UplinkctlCLI.withConfig(Self.yaml()) { path in
                try RunningUplinkctl.with(host: lab.host, config: path) { run in
                    try must(["ip", "netns", "exec", lab.host, "nft", "delete", "table", "inet", "uplinkctl"])
                    #expect(try run.waitFor("the kernel changed").contains("applied"))
                    let rule =
                        try must(["ip", "-n", lab.host, "rule", "show", "table", "112"])
                        .split(separator: "\n").first { $0.contains("fwmark") }.map(String.init) ?? ""
                    let priority = String(rule.prefix { $0 != ":" })
                    try must(["ip", "-n", lab.host, "rule", "del", "priority", priority, "table", "112"])
                    #expect(try run.waitFor("the kernel changed").contains("applied 1 change"))
                    #expect(try must(["ip", "-n", lab.host, "rule", "show", "table", "112"]).contains(rule))
                    #expect(try UplinkctlCLI.run(["diff", "--netns", lab.host, path]).status == 0)
                    #expect(try lab.connections(from: .lan, .tcp, count: 3).compactMap { $0 }.sorted() == [1, 2, 3])
                }
            }
        }
    }

    @Test("every uplink down: the last state is kept, and said loudly")
    func everyUplinkDown() throws {
        try Lab.with { lab in
            try UplinkctlCLI.withConfig(Self.yaml()) { path in
                try RunningUplinkctl.with(host: lab.host, config: path) { run in
                    for n in 1...2 { try Self.forwarding(lab, gateway: n, on: false) }
                    try run.waitFor("uplink up1 down")
                    try run.waitFor("uplink up2 down")
                    #expect(try Self.slots(lab).contains("0 : goto new-up3, 1 : goto new-up3, 2 : goto new-up3"))
                    try Self.forwarding(lab, gateway: 3, on: false)
                    #expect(try run.waitFor("every uplink is down").contains("critical"))
                    #expect(try Self.slots(lab).contains("0 : goto new-up3, 1 : goto new-up3, 2 : goto new-up3"))
                    try Self.forwarding(lab, gateway: 1, on: true)
                    try run.waitFor("uplink up1 up")
                    #expect(try Self.slots(lab).contains("0 : goto new-up1, 1 : goto new-up1, 2 : goto new-up1"))
                }
            }
        }
    }

    /// Three entries pinned to up2, one per kind of fallback: balanced over the others
    /// (default), another uplink, none (the connection fails rather than leave by another link).
    @Test("a pinned entry follows its fallback while its uplink is down")
    func pinnedFallbacks() throws {
        let policies = """
            policies:
              - {destination: \(Lab.otherServiceAddress), protocol: udp, destination-port: 7, uplink: up2}
              - {destination: \(Lab.otherServiceAddress), protocol: udp, destination-port: 22, uplink: up2, \
            fallback: up3}
              - {destination: \(Lab.otherServiceAddress), protocol: udp, destination-port: 53, uplink: up2, \
            fallback: none}

            """
        try Lab.with { lab in
            try UplinkctlCLI.withConfig(Self.yaml(policies: policies)) { path in
                try RunningUplinkctl.with(host: lab.host, config: path) { run in
                    let echo = { (port: Int) in
                        try lab.echo(in: lab.host, .udp, count: 2, to: Lab.otherServiceAddress, port: port)
                    }
                    #expect(try echo(7).map(Lab.uplink(answer:)) == [2, 2])
                    try Self.forwarding(lab, gateway: 2, on: false)
                    try run.waitFor("uplink up2 down")
                    let balanced = try echo(7).map(Lab.uplink(answer:))
                    #expect(balanced.allSatisfy { $0 == 1 || $0 == 3 }, "\(balanced)")
                    #expect(try echo(22).map(Lab.uplink(answer:)) == [3, 3])
                    #expect(try echo(53) == ["timeout", "timeout"])
                }
            }
        }
    }

    /// hash: every pair of addresses on a healthy uplink stays on it; only the dead one's move.
    @Test("hash mode: only the dead uplink's address pairs move")
    func hashKeepsHealthyPairs() throws {
        try Lab.with { lab in
            let sources = try lab.addLanClientAddresses(24)
            try UplinkctlCLI.withConfig(Self.yaml(balance: "hash")) { path in
                try RunningUplinkctl.with(host: lab.host, config: path) { run in
                    let before = try lab.echo(in: lab.lan, .udp, count: 1, to: Lab.serviceAddress, sources: sources)
                        .map(Lab.uplink(device:))
                    #expect(Set(before.compactMap { $0 }) == [1, 2, 3], "\(before)")
                    try Self.forwarding(lab, gateway: 2, on: false)
                    try run.waitFor("uplink up2 down")
                    let after = try lab.echo(in: lab.lan, .udp, count: 1, to: Lab.serviceAddress, sources: sources).map(
                        Lab.uplink(device:))
                    for (was, now) in zip(before, after) {
                        if was == 2 { #expect(now == 1 || now == 3) } else { #expect(now == was) }
                    }
                }
            }
        }
    }

    @Test("SIGHUP installs a good config and keeps the running state on a bad one; SIGTERM ends it within a second")
    func signals() throws {
        try Lab.with { lab in
            try UplinkctlCLI.withConfig(Self.yaml()) { path in
                try RunningUplinkctl.with(host: lab.host, config: path) { run in
                    try Self.yaml(weights: [2, 1, 1]).write(toFile: path, atomically: true, encoding: .utf8)
                    run.signal(SIGHUP)
                    try run.waitFor("reload: \(path), 3 uplinks")
                    // Said before the change is made: the slots are read once it is.
                    try run.waitFor("reload: applied")
                    #expect(try Self.slots(lab).contains("3 : goto new-up3"))
                    try "uplinks:\n  - {name: up1, interface: up1, weight: 0}\n".write(
                        toFile: path, atomically: true, encoding: .utf8)
                    run.signal(SIGHUP)
                    let complaint = try run.waitFor("error:")
                    #expect(
                        complaint.contains("\(path):2:41: error: 'weight' must be a whole number from 1 to 1000"),
                        "\(complaint)")
                    try run.waitFor("still running the previous config")
                    #expect(try Self.slots(lab).contains("3 : goto new-up3"))
                    let seconds = run.stop()
                    #expect(
                        seconds < 1 && run.process.terminationStatus == 0,
                        "stopped in \(seconds) s, status \(run.process.terminationStatus)")
                    #expect(run.text.contains("SIGTERM"))
                }
            }
        }
    }

    @Test("--confirm-reload: an unconfirmed reload goes back to the previous config; a confirmed one stays")
    func confirmedReload() throws {
        try Lab.with { lab in
            try UplinkctlCLI.withConfig(Self.yaml()) { path in
                try UplinkctlCLI.withConfig(Self.yaml()) { old in
                    try RunningUplinkctl.with(host: lab.host, config: path, extra: ["--confirm-reload", "2"]) { run in
                        let before = try Self.slots(lab)
                        try Self.yaml(weights: [2, 1, 1]).write(toFile: path, atomically: true, encoding: .utf8)
                        run.signal(SIGHUP)
                        try run.waitFor("reload: keep it with `uplinkctl confirm` within 2 s")
                        #expect(try Self.slots(lab).contains("3 : goto new-up3"))
                        // Meanwhile status says so, and another SIGHUP waits its turn.
                        let status = try UplinkctlCLI.run(["status", "--netns", lab.host, path])
                        #expect(
                            status.stderr.contains("the reload of \(path)")
                                && status.stderr.contains("awaits confirmation"),
                            "\(status.stderr)")
                        run.signal(SIGHUP)
                        try run.waitFor("the last reload still waits for `uplinkctl confirm`")
                        try run.waitFor(
                            "reload: not confirmed within 2 s; what was installed before is back",
                            timeout: 4)
                        #expect(try Self.slots(lab) == before)
                        #expect(try UplinkctlCLI.run(["diff", "--netns", lab.host, old]).status == 0)
                        // Again, confirmed this time.
                        run.signal(SIGHUP)
                        try run.waitFor("reload: keep it")
                        let confirm = try UplinkctlCLI.run(["confirm", "--netns", lab.host])
                        #expect(confirm.status == 0, "\(confirm.stderr)")
                        try run.waitFor("reload: confirmed by `uplinkctl confirm`; it stays")
                        usleep(2_500_000)
                        #expect(try Self.slots(lab).contains("3 : goto new-up3"))
                        #expect(run.text.components(separatedBy: "not confirmed within").count == 2, "\(run.text)")
                    }
                }
            }
        }
    }

    @Test("a second run, apply and flush refuse while run manages the namespace; status and diff read")
    func oneRunAtATime() throws {
        try Lab.with { lab in
            try UplinkctlCLI.withConfig(Self.yaml()) { path in
                try RunningUplinkctl.with(host: lab.host, config: path) { run in
                    let pid = run.process.processIdentifier
                    let second = try UplinkctlCLI.run(["run", "--netns", lab.host, path])
                    #expect(
                        second.status == 1
                            && second.stderr.contains("uplinkctl run (pid \(pid)) already manages this namespace"),
                        "\(second.stderr)")
                    let apply = try UplinkctlCLI.run(["apply", "--netns", lab.host, path])
                    #expect(
                        apply.status == 1 && apply.stderr.contains("edit \(path) and reload it: kill -HUP \(pid)"),
                        "\(apply.stderr)")
                    let flush = try UplinkctlCLI.run(["flush", "--netns", lab.host])
                    #expect(flush.status == 1 && flush.stderr.contains("stop it first: kill \(pid)"), "\(flush.stderr)")
                    #expect(try UplinkctlCLI.run(["diff", "--netns", lab.host, path]).status == 0)
                    let status = try UplinkctlCLI.run(["status", "--netns", lab.host, path]).stdout
                    #expect(
                        status.contains("managed by uplinkctl run (pid \(pid)") && status.contains("health"),
                        "\(status)")
                }
            }
        }
    }

    /// User and system time of a process, from /proc.
    static func cpuSeconds(_ pid: Int32) throws -> Double {
        let stat = try String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)
        let fields = stat.split(separator: ")").last!.split(separator: " ")
        return (Double(fields[11])! + Double(fields[12])!) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    @Test("the metrics endpoint answers a real scrape")
    func metricsScrape() throws {
        try Lab.with { lab in
            try UplinkctlCLI.withConfig(Self.yaml()) { path in
                try RunningUplinkctl.with(host: lab.host, config: path, extra: ["--metrics", "127.0.0.1:9520"]) { run in
                    // A guest that never wears out its welcome: descriptors flat across rounds and scrapes.
                    let descriptors = {
                        try FileManager.default.contentsOfDirectory(atPath: "/proc/\(run.process.processIdentifier)/fd")
                            .count
                    }
                    _ = try lab.connections(from: .host, .udp, count: 3)
                    let before = try descriptors()
                    let scrape =
                        "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:9520/metrics', "
                        + "timeout=5).read().decode())"
                    let text = try must(["ip", "netns", "exec", lab.host, Lab.python, "-c", scrape])
                    #expect(text.contains("uplinkctl_uplink_up{uplink=\"up2\",interface=\"up2\"} 1"), "\(text)")
                    #expect(
                        text.contains("uplinkctl_uplink_new_connections_total{uplink=\"up1\",interface=\"up1\"} 1"),
                        "\(text)")
                    #expect(text.contains("# TYPE uplinkctl_uplink_rtt_seconds gauge"), "\(text)")
                    for _ in 0..<3 { _ = try must(["ip", "netns", "exec", lab.host, Lab.python, "-c", scrape]) }
                    // 24 clients that connect and say nothing, more than it serves at once: they are
                    // dropped after 5 s and the scrape queued behind them is answered; meanwhile
                    // the loop does not spin.
                    let idle =
                        "import socket, urllib.request; idle = [socket.create_connection(('127.0.0.1', 9520)) "
                        + "for _ in range(24)]; print(urllib.request.urlopen('http://127.0.0.1:9520/metrics', "
                        + "timeout=15).read().decode())"
                    let cpuBefore = try Self.cpuSeconds(run.process.processIdentifier)
                    #expect(
                        try must(["ip", "netns", "exec", lab.host, Lab.python, "-c", idle]).contains(
                            "uplinkctl_uplink_up{"))
                    let cpu = try Self.cpuSeconds(run.process.processIdentifier) - cpuBefore
                    #expect(cpu < 0.5, "run used \(cpu) s of CPU while idle clients held its endpoint for about 5 s")
                    #expect(try lab.connections(from: .host, .udp, count: 3).compactMap { $0 }.sorted() == [1, 2, 3])
                    usleep(500_000)
                    let after = try descriptors()
                    #expect(
                        after == before,
                        "descriptors: \(before) after warming up, \(after) after 4 scrapes and 24 idle clients")
                }
            }
        }
    }

    /// `gateway: auto`: the gateway is the one the interface's DHCP or PPP client installs as a
    /// default route. apply refuses while there is none; run follows it when the lease moves it.
    @Test("gateway: auto is read from the kernel, refused while missing, and followed by run")
    func automaticGateway() throws {
        let yaml = """
            health:
              targets: [\(Lab.serviceAddress)]
            uplinks:
              - {name: up1, interface: up1, gateway: auto}
              - {name: up2, interface: up2, gateway: auto}
              - {name: up3, interface: up3, gateway: 198.18.3.1}

            """
        try Lab.with { lab in
            try UplinkctlCLI.withConfig(yaml) { path in
                let refused = try UplinkctlCLI.run(["apply", "--netns", lab.host, path])
                #expect(
                    refused.status == 1
                        && refused.stderr.contains(
                            "uplink up2: 'gateway: auto', and no IPv4 default route leaves by up2 yet (ip route show "
                                + "default dev up2)"
                        ),
                    "\(refused.stderr)")
                // What a DHCP client does: a default route of its own, here with a higher metric.
                try must([
                    "ip", "-n", lab.host, "route", "add", "default", "via", "198.18.2.1", "dev", "up2", "metric", "200"
                ])
                try RunningUplinkctl.with(host: lab.host, config: path) { run in
                    #expect(
                        try must(["ip", "-n", lab.host, "route", "show", "table", "111"]).contains(
                            "default via 198.18.2.1 dev up2"))
                    #expect(try lab.connections(from: .host, .udp, count: 3) == [1, 2, 3])
                    // A new lease moves the gateway: run follows, and up2 carries connections again.
                    try must(["ip", "-n", lab.gateways[1], "addr", "add", "198.18.2.254/24", "dev", "dn"])
                    try must([
                        "ip", "-n", lab.host, "route", "replace", "default", "via", "198.18.2.254", "dev", "up2",
                        "metric", "200"
                    ])
                    try run.waitFor("applied 1 change")
                    #expect(
                        try must(["ip", "-n", lab.host, "route", "show", "table", "111"]).contains(
                            "default via 198.18.2.254 dev up2"))
                    #expect(try lab.connections(from: .host, .udp, count: 3) == [1, 2, 3])
                    // The lease ends: up2 has no gateway, so it is out.
                    try must([
                        "ip", "-n", lab.host, "route", "del", "default", "via", "198.18.2.254", "dev", "up2", "metric",
                        "200"
                    ])
                    #expect(try run.waitFor("uplink up2 down").contains("no gateway yet (gateway: auto)"))
                }
            }
        }
    }

    /// Type=notify without libsystemd: READY=1 once installed, WATCHDOG=1 at half of
    /// $WATCHDOG_USEC, STOPPING=1 on the way out, as datagrams to $NOTIFY_SOCKET; and the unit
    /// in dist/ passes `systemd-analyze verify` (with this build's binary in its commands).
    @Test func systemdNotifyAndTheUnit() throws {
        let socketPath = FileManager.default.temporaryDirectory.appendingPathComponent(
            "uplinkctl-notify-\(getpid()).sock"
        ).path
        let listener = try NotifyListener(path: socketPath)
        try Lab.with { lab in
            try UplinkctlCLI.withConfig(Self.yaml()) { path in
                try RunningUplinkctl.with(
                    host: lab.host, config: path, environment: ["NOTIFY_SOCKET": socketPath, "WATCHDOG_USEC": "400000"]
                ) { run in
                    let ready = try listener.next(within: 5)
                    let watchdog = try listener.next(within: 2)
                    #expect(ready == "READY=1" && watchdog == "WATCHDOG=1", "\(ready), \(watchdog)")
                    run.stop()
                    var last = ""
                    while let message = try? listener.next(within: 1) { last = message }
                    #expect(last == "STOPPING=1")
                }
            }
        }
        let unit = try Paths.read(Paths.repository.appendingPathComponent("dist/uplinkctl.service"))
            .replacingOccurrences(of: "/usr/local/bin/uplinkctl", with: Paths.uplinkctl.path)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "uplinkctl-unit-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("uplinkctl.service")
        try unit.write(to: file, atomically: true, encoding: .utf8)
        let verify = try run(["systemd-analyze", "verify", file.path])
        #expect(
            verify.status == 0 && verify.stderr.isEmpty && verify.stdout.isEmpty, "\(verify.stdout)\(verify.stderr)")
    }
}

/// A unix datagram socket that receives what a service tells systemd.
final class NotifyListener {
    private let descriptor: Int32
    private let path: String

    init(path: String) throws {
        self.path = path
        unlink(path)
        descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8)) }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard descriptor >= 0, bound == 0 else {
            throw CommandFailed(command: "bind \(path)", status: errno, output: "")
        }
    }

    deinit {
        close(descriptor)
        unlink(path)
    }

    /// The next message, waiting at most `seconds`.
    func next(within seconds: Double) throws -> String {
        var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        guard poll(&poller, 1, Int32(seconds * 1000)) > 0 else {
            throw CommandFailed(command: "notify", status: 0, output: "nothing within \(seconds) s")
        }
        var buffer = [UInt8](repeating: 0, count: 512)
        let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
        return String(decoding: buffer[..<max(0, count)], as: UTF8.self)
    }
}
