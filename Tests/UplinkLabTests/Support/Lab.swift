import Foundation
import TestSupport

@testable import UplinkCore

/// A lab of network namespaces in which the dry-run scripts route real traffic.
///
///     lan ─(eth0 · lan0)─ host ─(upN · dn)─ gwN ─(srv · gN)─ server     N = 1, 2, 3
///
/// Uplink N: upN 198.18.N.2/24 in host, gateway `dn` 198.18.N.1/24 in gwN (LabUplinks; as in
/// examples/lab.yaml); gwN reaches the server over 198.18.(100+N).0/24 and does not NAT, and
/// the server routes 198.18.N.0/24 back through gwN. The server's echo server answers with
/// the source address it saw and the interface it came in by: "198.18.N.2 gN" says the
/// connection left by upN (gwN's only other link) and was masqueraded to upN's address.
/// The server also holds 198.19.0.2 (for policies by destination), and answers on ports 7,
/// 22 and 53 of both addresses, TCP and UDP.
/// The LAN client (198.18.200.2/24, default via the host's lan0, 198.18.200.1) runs an
/// echo server too, so connections to the LAN can be seen arriving. The host has only a
/// default route via 198.18.1.1 and the kernel's defaults: ip_forward and rp_filter are the
/// script's to set. IPv6 is off everywhere, so the only new connections are the test's own.
///
/// `Lab.with(ipv6: true)` adds IPv6 on every link, from 2001:2::/48 (RFC 5180): upN
/// 2001:2:0:N::2/64 with gateway 2001:2:0:N::1, the server's 2001:2:0:ff::1 over gwN's
/// 2001:2:0:(100+N)::/64, the LAN 2001:2:0:200::/64 (client ::2, host ::1). The gateways forward
/// IPv6; the host does not (that is uplinkctl's job). Addresses skip duplicate address
/// detection (nodad, accept_dad=0), so nothing waits. The gateways and the server route all of
/// 2001:2::/48 back through gwN, per gN, so IPv6 sources that are not masqueraded (the LAN's,
/// the host's own) get their answers too, by the uplink they left by.
struct Lab {
    enum Client { case host, lan }
    enum Transport: String { case tcp, udp }

    static let serviceAddress = "198.19.0.1"
    static let lanClientAddress = "198.18.200.2"
    static let hostLanAddress = "198.18.200.1"

    let host: String
    let lan: String
    let server: String
    let gateways: [String]
    /// Whether the links have IPv6 addresses (IPv6 is disabled otherwise).
    var ipv6 = false

    /// Builds the lab, runs `body`, then stops the echo servers and removes every namespace,
    /// also when building or `body` fails.
    static func with<T>(ipv6: Bool = false, _ body: (Lab) throws -> T) throws -> T {
        let roles = ["host"] + (1...LabUplinks.count).map { "gw\($0)" } + ["server", "lan"]
        return try Namespaces.with(roles) { names in
            let lab = Lab(
                host: names[0], lan: names[LabUplinks.count + 2], server: names[LabUplinks.count + 1],
                gateways: Array(names[1...LabUplinks.count]), ipv6: ipv6)
            try lab.wire()
            if ipv6 { try lab.wireIPv6() }
            var servers: [EchoServer] = []
            // Stopped before Namespaces.with deletes the namespaces: a namespace lives on
            // for as long as a process is inside it.
            defer { servers.forEach { $0.stop() } }
            let services = [serviceAddress, otherServiceAddress] + (ipv6 ? [serviceAddress6] : [])
            let lanClient = ipv6 ? "\(lanClientAddress),\(lanClientAddress6)" : lanClientAddress
            servers.append(
                try EchoServer(
                    in: lab.server, address: services.joined(separator: ","),
                    devices: (1...LabUplinks.count).map { "g\($0)" }, ports: servicePorts))
            servers.append(try EchoServer(in: lab.lan, address: lanClient, devices: ["eth0"]))
            try servers.forEach { try $0.waitUntilListening() }
            return try body(lab)
        }
    }

    /// Runs a shell script (a dry-run) in `namespace`, the host by default. Throws when it
    /// fails; returns what it printed on stderr, which a clean script leaves empty.
    @discardableResult
    func run(script: String, in namespace: String? = nil) throws -> String {
        let result = try Namespaces.exec(namespace ?? host, ["sh", "-s"], input: script)
        guard result.status == 0 else {
            throw CommandFailed(
                command: "sh -s (script) in \(namespace ?? host)", status: result.status, output: result.stderr)
        }
        return result.stderr
    }

    /// `count` connections from `client` to the echo server at `address`, one after the
    /// other, each from a fresh socket: for each, what the far end saw ("198.18.2.2 g2"),
    /// "timeout", or "error: ...".
    func echo(from client: Client, _ transport: Transport, count: Int, to address: String = serviceAddress) throws
        -> [String]
    {
        let output = try must([
            "ip", "netns", "exec", client == .host ? host : lan,
            Self.python, Self.script("echo-client.py"), transport.rawValue, String(count), address
        ])
        return output.split(separator: "\n").map(String.init)
    }

    /// The uplink (1-based) each of `count` new connections to the server took: N for the
    /// answer "198.18.N.2 gN"; nil for a timeout or any other answer (such as a connection
    /// that left by one uplink with another uplink's address).
    func connections(from client: Client, _ transport: Transport, count: Int) throws -> [Int?] {
        try echo(from: client, transport, count: count).map(Self.uplink(answer:))
    }

    /// Sends 2 cycles + 1 connections from each client by each transport, in turn, and
    /// returns what each batch took next to what the slot `order` (1-based uplinks) predicts,
    /// counting from connection `start`. The +1 starts each batch mid-cycle, so a counter kept
    /// per hook or per protocol would show as a shifted sequence.
    func slotOrderBatches(_ order: [Int], from start: Int = 0) throws -> [(
        what: String, seen: [Int?], expected: [Int?]
    )] {
        let batch = 2 * order.count + 1
        var counter = start
        var result: [(what: String, seen: [Int?], expected: [Int?])] = []
        for client in [Client.host, .lan] {
            for transport in [Transport.tcp, .udp] {
                let seen = try connections(from: client, transport, count: batch)
                let expected: [Int?] = (counter..<counter + batch).map { order[$0 % order.count] }
                result.append(("\(client) \(transport) from connection \(counter) on", seen, expected))
                counter += batch
            }
        }
        return result
    }

    static func uplink(answer: String) -> Int? {
        (1...LabUplinks.count).first { answer == "198.18.\($0).2 g\($0)" }
    }

    /// uplinkctl's status of the lab host for the config at `path`.
    func status(_ path: String) throws -> StatusReport.Summary {
        let status = try UplinkctlCLI.run(["status", "--json", "--netns", host, path])
        return try JSONDecoder().decode(StatusReport.Summary.self, from: Data(status.stdout.utf8))
    }

    // MARK: Building

    /// Every namespace of the lab: IPv6 off in a lab without it (no stray packet of its own),
    /// and no duplicate address detection in one with it (nothing waits).
    var ipv6Settings: [String] {
        ipv6
            ? ["net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0"]
            : ["net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"]
    }

    /// One `ip -batch` per namespace (and one in the root namespace that creates the veth
    /// pairs directly inside the lab's namespaces): process starts are most of the cost.
    private func wire() throws {
        let uplinks = Array(1...LabUplinks.count)
        for name in [host, server, lan] + gateways {
            var settings = ipv6Settings
            if gateways.contains(name) { settings.append("net.ipv4.ip_forward=1") }
            if gateways.contains(name) && ipv6 { settings.append("net.ipv6.conf.all.forwarding=1") }
            try must(["ip", "netns", "exec", name, "sysctl", "-qw"] + settings)
        }
        try batch(
            nil,
            uplinks.flatMap { n in
                [
                    "link add up\(n) netns \(host) type veth peer name dn netns \(gateways[n - 1])",
                    "link add srv netns \(gateways[n - 1]) type veth peer name g\(n) netns \(server)"
                ]
            } + ["link add lan0 netns \(host) type veth peer name eth0 netns \(lan)"])

        try batch(
            host,
            uplinks.flatMap { n in ["addr add 198.18.\(n).2/24 dev up\(n)", "link set up\(n) up"] } + [
                "addr add \(Self.hostLanAddress)/24 dev lan0", "link set lan0 up",
                // Local sockets need a first route to send at all; uplinkctl's output hook reroutes by mark.
                "route add default via 198.18.1.1"
            ])
        for n in uplinks {
            try batch(
                gateways[n - 1],
                [
                    "addr add 198.18.\(n).1/24 dev dn", "link set dn up",
                    "addr add 198.18.\(100 + n).1/24 dev srv", "link set srv up",
                    "route add \(Self.serviceAddress)/32 via 198.18.\(100 + n).2",
                    "route add \(Self.otherServiceAddress)/32 via 198.18.\(100 + n).2"
                ])
        }
        // Each reply goes back through the gateway its connection came through.
        try batch(
            server,
            ["addr add \(Self.serviceAddress)/32 dev lo", "addr add \(Self.otherServiceAddress)/32 dev lo"]
                + uplinks.flatMap { n in
                    [
                        "addr add 198.18.\(100 + n).2/24 dev g\(n)", "link set g\(n) up",
                        "route add 198.18.\(n).0/24 via 198.18.\(100 + n).1"
                    ]
                })
        try batch(
            lan,
            [
                "addr add \(Self.lanClientAddress)/24 dev eth0", "link set eth0 up",
                "route add default via \(Self.hostLanAddress)"
            ])
    }

    func batch(_ namespace: String?, _ commands: [String]) throws {
        try must(
            ["ip"] + (namespace.map { ["-n", $0] } ?? []) + ["-batch", "-"],
            input: commands.joined(separator: "\n") + "\n")
    }

    // MARK: Python helpers

    /// The system python3 when there is one: a version manager's shim on PATH (pyenv) costs
    /// tens of milliseconds per start.
    static let python =
        FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") ? "/usr/bin/python3" : "python3"

    static func script(_ name: String) -> String {
        Paths.fixtures.appendingPathComponent("lab").appendingPathComponent(name).path
    }
}

// MARK: IPv6, other clients and services

extension Lab {
    /// A second address of the server, for policies by destination.
    static let otherServiceAddress = "198.19.0.2"
    /// The ports the server's echo server answers on (both addresses, TCP and UDP): 7, and two
    /// of the ports seed 002 pins to its wired link.
    static let servicePorts = [7, 22, 53]
    static let serviceAddress6 = "2001:2:0:ff::1"
    static let lanClientAddress6 = "2001:2:0:200::2"
    static let hostLanAddress6 = "2001:2:0:200::1"

    /// The uplink (1-based) an answer of the server names by its interface ("... gN"), whatever
    /// source address it saw: for IPv6 without NAT66, where the source is the client's own.
    static func uplink(device answer: String) -> Int? {
        (1...LabUplinks.count).first { answer.hasSuffix(" g\($0)") }
    }

    func namespace(_ client: Client) -> String { client == .host ? host : lan }

    /// `count` connections from any namespace of the lab, to any address and port, each from a
    /// fresh socket; with `sources`, bound to each source address in turn (`count` from each);
    /// with `mark`, every socket carries that fwmark (SO_MARK). One line per connection, as
    /// `echo` returns them.
    func echo(
        in namespace: String, _ transport: Transport, count: Int, to address: String,
        port: Int = 7, sources: [String] = [], mark: UInt32? = nil
    ) throws -> [String] {
        let output = try must(
            [
                "ip", "netns", "exec", namespace, Self.python, Self.script("echo-client.py"), transport.rawValue,
                String(count), address, String(port), sources.joined(separator: ",")
            ]
                + (mark.map { ["0x" + String($0, radix: 16)] } ?? []))
        return output.split(separator: "\n").map(String.init)
    }

    /// An echo server (Fixtures/lab/echo-server.py) in `namespace` for the time of `body`: on
    /// `addresses` and `ports`, bound to `devices`, or unbound (answering "PEER -") without.
    func withEchoServer<T>(
        in namespace: String, addresses: [String], ports: [Int] = [7], devices: [String] = [],
        _ body: () throws -> T
    ) throws -> T {
        let server = try EchoServer(
            in: namespace, address: addresses.joined(separator: ","), devices: devices, ports: ports)
        defer { server.stop() }
        try server.waitUntilListening()
        return try body()
    }

    /// A download source (Fixtures/lab/mptcp-transfer.py) on the server's 198.19.0.1:`port`
    /// for the time of `body`: MPTCP, or plain TCP with `tcp`.
    func withDownloadSource<T>(port: Int, tcp: Bool = false, _ body: () throws -> T) throws -> T {
        let source = try EchoServer(
            in: server, script: "mptcp-transfer.py",
            ["serve", Self.serviceAddress, String(port)] + (tcp ? ["tcp"] : []))
        defer { source.stop() }
        try source.waitUntilListening()
        return try body()
    }

    /// Bytes one connection from the host downloaded from the source in `seconds` (MPTCP unless `tcp`).
    func download(port: Int, seconds: Double, tcp: Bool = false) throws -> Int {
        let output = try must(
            [
                "ip", "netns", "exec", host, Self.python, Self.script("mptcp-transfer.py"), "fetch",
                Self.serviceAddress, String(port), String(seconds)
            ] + (tcp ? ["tcp"] : []))
        return Int(output.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
    }

    /// Named echo servers (one per element: its name, address and port) in `namespace` for the
    /// time of `body`: each answers "PEER NAME", so a service's connection says which backend it met.
    /// `body` may stop one (by name) to play a backend that dies.
    func withBackends<T>(
        in namespace: String, _ backends: [(name: String, address: String, port: Int)],
        _ body: (_ stop: (String) -> Void) throws -> T
    ) throws -> T {
        var servers: [String: EchoServer] = [:]
        defer { servers.values.forEach { $0.stop() } }
        for backend in backends {
            let server = try EchoServer(
                in: namespace, script: "echo-server.py",
                ["--ports", String(backend.port), "--name", backend.name, backend.address])
            servers[backend.name] = server
        }
        try servers.values.forEach { try $0.waitUntilListening() }
        return try body { servers[$0]?.stop() }
    }

    /// The lab's FTP-like server (Fixtures/lab/ftp-server.py) on the server's address, bound
    /// to each gN like the echo server, for the time of `body`.
    func withFtpServer<T>(_ body: () throws -> T) throws -> T {
        let ftp = try EchoServer(
            in: server, script: "ftp-server.py", [Self.serviceAddress] + (1...LabUplinks.count).map { "g\($0)" })
        defer { ftp.stop() }
        try ftp.waitUntilListening()
        return try body()
    }

    /// Gives the LAN client `count` more addresses, 198.18.200.10 on (at most 200), for
    /// connections between many pairs of addresses; returns them.
    func addLanClientAddresses(_ count: Int) throws -> [String] {
        let addresses = (0..<min(count, 200)).map { "198.18.200.\(10 + $0)" }
        try batch(lan, addresses.map { "addr add \($0)/24 dev eth0" })
        return addresses
    }

    /// IPv6 on every link (see the type's comment). One `ip -batch` per namespace.
    fileprivate func wireIPv6() throws {
        let uplinks = Array(1...LabUplinks.count)
        try batch(
            host,
            uplinks.map { "addr add 2001:2:0:\($0)::2/64 dev up\($0) nodad" } + [
                "addr add \(Self.hostLanAddress6)/64 dev lan0 nodad",
                "route add ::/0 via 2001:2:0:1::1"
            ])
        for n in uplinks {
            try batch(
                gateways[n - 1],
                [
                    "addr add 2001:2:0:\(n)::1/64 dev dn nodad",
                    "addr add 2001:2:0:\(100 + n)::1/64 dev srv nodad",
                    "route add \(Self.serviceAddress6)/128 via 2001:2:0:\(100 + n)::2",
                    "route add 2001:2::/48 via 2001:2:0:\(n)::2"
                ])
        }
        // One route back per gN, each with its own metric: an answer from a socket bound to gN
        // takes gN's (the lookup keeps to the socket's device), any other the lowest metric.
        try batch(
            server,
            ["addr add \(Self.serviceAddress6)/128 dev lo"]
                + uplinks.flatMap { n in
                    [
                        "addr add 2001:2:0:\(100 + n)::2/64 dev g\(n) nodad",
                        "route add 2001:2::/48 via 2001:2:0:\(100 + n)::1 dev g\(n) metric \(n)"
                    ]
                })
        try batch(
            lan, ["addr add \(Self.lanClientAddress6)/64 dev eth0 nodad", "route add ::/0 via \(Self.hostLanAddress6)"])
    }
}

/// The lab's echo server (Fixtures/lab/echo-server.py) running in the background in one
/// namespace, from start until `stop`.
private final class EchoServer {
    private let process = Process()
    private let output = Pipe()
    private let description: String

    convenience init(in namespace: String, address: String, devices: [String], ports: [Int] = [7]) throws {
        try self.init(
            in: namespace, script: "echo-server.py",
            ["--ports", ports.map(String.init).joined(separator: ","), address] + devices)
    }

    /// Any of the lab's servers (a script under Fixtures/lab that prints "listening").
    init(in namespace: String, script: String, _ arguments: [String]) throws {
        description = "\(script) \(arguments.joined(separator: " ")) in \(namespace)"
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["ip", "netns", "exec", namespace, Lab.python, Lab.script(script)] + arguments
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = output
        process.standardError = output
        try process.run()
    }

    /// Waits, at most `timeout` seconds, for the server's "listening" line.
    func waitUntilListening(timeout: Double = 5) throws {
        let descriptor = output.fileHandleForReading.fileDescriptor
        let deadline = Date().addingTimeInterval(timeout)
        var printed = Data()
        while Date() < deadline {
            var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 50) > 0 else {
                if process.isRunning { continue } else { break }
            }
            var buffer = [UInt8](repeating: 0, count: 4096)
            let count = read(descriptor, &buffer, buffer.count)
            guard count > 0 else { break }  // end of file: the server exited
            printed.append(contentsOf: buffer[..<count])
            if String(decoding: printed, as: UTF8.self).contains("listening\n") { return }
        }
        let problem = process.isRunning ? "no 'listening' within \(timeout) s" : "exited before 'listening'"
        stop()
        throw CommandFailed(
            command: description, status: process.terminationStatus,
            output: "\(problem); it printed:\n" + String(decoding: printed, as: UTF8.self))
    }

    /// SIGKILL, as it has nothing to clean up, and SIGTERM would not do: processes started
    /// from the test runner inherit its blocked signal mask, SIGTERM included. (`ip netns
    /// exec` execs the program, so the process is python itself.)
    func stop() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}
