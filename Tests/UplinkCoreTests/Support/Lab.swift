import Foundation

/// A lab of network namespaces in which the dry-run scripts route real traffic.
///
///     lan ─(eth0 · lan0)─ host ─(upN · dn)─ gwN ─(srv · gN)─ server     N = 1, 2, 3
///
/// Uplink N: upN 198.18.N.2/24 in host, gateway `dn` 198.18.N.1/24 in gwN (as in
/// examples/lab.yaml); gwN reaches the server over 198.18.(100+N).0/24 and does not NAT, and
/// the server routes 198.18.N.0/24 back through gwN. The server's echo server answers with
/// the source address it saw and the interface it came in by: "198.18.N.2 gN" says the
/// connection left by upN (gwN's only other link) and was masqueraded to upN's address.
/// The LAN client (198.18.200.2/24, default via the host's lan0, 198.18.200.1) runs an
/// echo server too, so connections to the LAN can be seen arriving. The host has only a
/// default route via 198.18.1.1 and the kernel's defaults: ip_forward and rp_filter are the
/// script's to set. IPv6 is off everywhere, so the only new connections are the test's own.
struct Lab {
    enum Client { case host, lan }
    enum Transport: String { case tcp, udp }

    static let serviceAddress = "198.19.0.1"
    static let lanClientAddress = "198.18.200.2"
    static let hostLanAddress = "198.18.200.1"
    static let uplinkCount = 3

    let host: String
    let lan: String
    let server: String
    let gateways: [String]

    /// Builds the lab, runs `body`, then stops the echo servers and removes every namespace,
    /// also when building or `body` fails.
    static func with<T>(_ body: (Lab) throws -> T) throws -> T {
        let roles = ["host"] + (1...uplinkCount).map { "gw\($0)" } + ["server", "lan"]
        return try Namespaces.with(roles) { names in
            let lab = Lab(host: names[0], lan: names[uplinkCount + 2], server: names[uplinkCount + 1],
                          gateways: Array(names[1...uplinkCount]))
            try lab.wire()
            var servers: [EchoServer] = []
            // Stopped before Namespaces.with deletes the namespaces: a namespace lives on
            // for as long as a process is inside it.
            defer { servers.forEach { $0.stop() } }
            servers.append(try EchoServer(in: lab.server, address: serviceAddress, devices: (1...uplinkCount).map { "g\($0)" }))
            servers.append(try EchoServer(in: lab.lan, address: lanClientAddress, devices: ["eth0"]))
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
            throw CommandFailed(command: "sh -s (script) in \(namespace ?? host)", status: result.status, output: result.stderr)
        }
        return result.stderr
    }

    /// `count` connections from `client` to the echo server at `address`, one after the
    /// other, each from a fresh socket: for each, what the far end saw ("198.18.2.2 g2"),
    /// "timeout", or "error: ...".
    func echo(from client: Client, _ transport: Transport, count: Int, to address: String = serviceAddress) throws -> [String] {
        let output = try must(["ip", "netns", "exec", client == .host ? host : lan,
                               Self.python, Self.script("echo-client.py"), transport.rawValue, String(count), address])
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
    func slotOrderBatches(_ order: [Int], from start: Int = 0) throws -> [(what: String, seen: [Int?], expected: [Int?])] {
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
        (1...uplinkCount).first { answer == "198.18.\($0).2 g\($0)" }
    }

    // MARK: Building

    /// One `ip -batch` per namespace (and one in the root namespace that creates the veth
    /// pairs directly inside the lab's namespaces): process starts are most of the cost.
    private func wire() throws {
        let uplinks = Array(1...Self.uplinkCount)
        for name in [host, server, lan] + gateways {
            var settings = ["net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"]
            if gateways.contains(name) { settings.append("net.ipv4.ip_forward=1") }
            try must(["ip", "netns", "exec", name, "sysctl", "-qw"] + settings)
        }
        try batch(nil, uplinks.flatMap { n in [
            "link add up\(n) netns \(host) type veth peer name dn netns \(gateways[n - 1])",
            "link add srv netns \(gateways[n - 1]) type veth peer name g\(n) netns \(server)",
        ] } + ["link add lan0 netns \(host) type veth peer name eth0 netns \(lan)"])

        try batch(host, uplinks.flatMap { n in ["addr add 198.18.\(n).2/24 dev up\(n)", "link set up\(n) up"] } + [
            "addr add \(Self.hostLanAddress)/24 dev lan0", "link set lan0 up",
            // Local sockets need a first route to send at all; uplinkctl's output hook reroutes by mark.
            "route add default via 198.18.1.1",
        ])
        for n in uplinks {
            try batch(gateways[n - 1], [
                "addr add 198.18.\(n).1/24 dev dn", "link set dn up",
                "addr add 198.18.\(100 + n).1/24 dev srv", "link set srv up",
                "route add \(Self.serviceAddress)/32 via 198.18.\(100 + n).2",
            ])
        }
        // Each reply goes back through the gateway its connection came through.
        try batch(server, ["addr add \(Self.serviceAddress)/32 dev lo"] + uplinks.flatMap { n in [
            "addr add 198.18.\(100 + n).2/24 dev g\(n)", "link set g\(n) up",
            "route add 198.18.\(n).0/24 via 198.18.\(100 + n).1",
        ] })
        try batch(lan, ["addr add \(Self.lanClientAddress)/24 dev eth0", "link set eth0 up",
                        "route add default via \(Self.hostLanAddress)"])
    }

    private func batch(_ namespace: String?, _ commands: [String]) throws {
        try must(["ip"] + (namespace.map { ["-n", $0] } ?? []) + ["-batch", "-"], input: commands.joined(separator: "\n") + "\n")
    }

    // MARK: Python helpers

    /// The system python3 when there is one: a version manager's shim on PATH (pyenv) costs
    /// tens of milliseconds per start.
    static let python = FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") ? "/usr/bin/python3" : "python3"

    static func script(_ name: String) -> String {
        Paths.fixtures.appendingPathComponent("lab").appendingPathComponent(name).path
    }
}

/// The lab's echo server (Fixtures/lab/echo-server.py) running in the background in one
/// namespace, from start until `stop`.
private final class EchoServer {
    private let process = Process()
    private let output = Pipe()
    private let description: String

    init(in namespace: String, address: String, devices: [String]) throws {
        description = "echo server on \(address) in \(namespace)"
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["ip", "netns", "exec", namespace, Lab.python, Lab.script("echo-server.py"), address] + devices
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
        throw CommandFailed(command: description, status: process.terminationStatus,
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
