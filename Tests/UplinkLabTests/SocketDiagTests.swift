import CNetlink
import Foundation
import Testing
import UplinkCore

@testable import UplinkKernel

/// MPTCP connections and subflows over NETLINK_SOCK_DIAG, with a real connection between two
/// namespaces joined by two links; `ss` is the independent witness.
@Suite(.enabled(if: Namespaces.enabled, "needs root and network namespaces"))
struct SocketDiagTests {
    /// Listens for MPTCP on 9200 and plain TCP on 9201, and holds what it accepts.
    static let server = """
        import select, socket
        listeners = []
        for protocol, port in ((262, 9200), (0, 9201)):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM, protocol)
            s.bind(("198.18.61.1", port))
            s.listen()
            listeners.append(s)
        print("listening", flush=True)
        held = []
        while True:
            for s in select.select(listeners, [], [])[0]:
                held.append(s.accept()[0])
        """

    /// One MPTCP and one plain TCP connection, held at most 10 s. The byte sent makes the
    /// connection fully established, and only then does the path manager open the second subflow.
    static let client = """
        import socket, time
        mptcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM, 262)
        mptcp.connect(("198.18.61.1", 9200))
        mptcp.sendall(b"x")
        tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM, 0)
        tcp.connect(("198.18.61.1", 9201))
        print("connected", flush=True)
        time.sleep(10)
        """

    @Test func connectionsAndSubflowSources() throws {
        try Namespaces.with(["client", "server"]) { names in
            let (client, server) = (names[0], names[1])
            for n in 1...2 {
                try must([
                    "ip", "-n", client, "link", "add", "name", "sd\(n)", "type", "veth",
                    "peer", "name", "sd\(n)", "netns", server
                ])
                try must(["ip", "-n", client, "addr", "add", "198.18.6\(n).2/24", "dev", "sd\(n)"])
                try must(["ip", "-n", server, "addr", "add", "198.18.6\(n).1/24", "dev", "sd\(n)"])
                try must(["ip", "-n", client, "link", "set", "sd\(n)", "up"])
                try must(["ip", "-n", server, "link", "set", "sd\(n)", "up"])
            }
            try must(["ip", "-n", client, "mptcp", "endpoint", "add", "198.18.62.2", "dev", "sd2", "subflow"])
            try must(["ip", "-n", client, "mptcp", "limits", "set", "subflows", "2"])
            try must(["ip", "-n", server, "mptcp", "limits", "set", "subflows", "2"])
            let diag = try NetworkNamespace.run(client) {
                SocketDiagNetlink(socket: try NetlinkSocket(NETLINK_SOCK_DIAG))
            }
            let serverDiag = try NetworkNamespace.run(server) {
                SocketDiagNetlink(socket: try NetlinkSocket(NETLINK_SOCK_DIAG))
            }
            #expect(try diag.mptcpConnections() == 0)
            #expect(try diag.subflowSources() == [])

            // Killed before Namespaces.with removes the namespaces, which live while a process is inside.
            let listener = try Background(server, Self.server)
            defer { listener.stop() }
            try listener.wait(for: "listening")
            // The listener is no connection.
            #expect(try serverDiag.mptcpConnections() == 0)
            let connector = try Background(client, Self.client)
            defer { connector.stop() }
            try connector.wait(for: "connected")

            // The witness: both subflows of the connection to 9200 established.
            let deadline = Date().addingTimeInterval(3)
            var shown: [Substring] = []
            repeat {
                let text = try must(["ip", "netns", "exec", client, "ss", "-Mtn", "state", "established"])
                shown = text.split(separator: "\n").filter { $0.hasPrefix("tcp") && $0.contains(":9200") }
                if shown.count == 2 { break }
                usleep(50_000)
            } while Date() < deadline
            #expect(shown.count == 2, "\(shown)")

            #expect(try diag.mptcpConnections() == 1)
            let sources = try diag.subflowSources().sorted()
            // 198.18.61.2 once: the plain TCP connection from it to 9201 is no subflow.
            #expect(sources == [IPAddress("198.18.61.2")!, IPAddress("198.18.62.2")!], "\(sources)")
            let plain = try must([
                "ip", "netns", "exec", client, "ss", "-Htn", "state", "established",
                "dport", "=", ":9201"
            ])
            #expect(plain.contains("198.18.61.2:"), "\(plain)")
            // The server's side: one accepted connection, its two subflows towards 198.18.61.1.
            #expect(try serverDiag.mptcpConnections() == 1)
            #expect(try serverDiag.subflowSources() == [IPAddress("198.18.61.1")!, IPAddress("198.18.61.1")!])
        }
    }
}

/// A python program run in a namespace in the background until `stop`.
private final class Background {
    private let process = Process()
    private let output = Pipe()

    init(_ namespace: String, _ program: String) throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["ip", "netns", "exec", namespace, "python3", "-c", program]
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = output
        process.standardError = output
        try process.run()
    }

    /// Waits, at most 5 s, for the program to print `line`.
    func wait(for line: String) throws {
        let descriptor = output.fileHandleForReading.fileDescriptor
        let deadline = Date().addingTimeInterval(5)
        var printed = Data()
        while Date() < deadline {
            var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 50) > 0 else { continue }
            var buffer = [UInt8](repeating: 0, count: 4096)
            let count = read(descriptor, &buffer, buffer.count)
            // End of file: the program exited.
            guard count > 0 else { break }
            printed.append(contentsOf: buffer[..<count])
            if String(decoding: printed, as: UTF8.self).contains(line + "\n") { return }
        }
        throw CommandFailed(
            command: "python3 (waiting for \(line))", status: -1,
            output: String(decoding: printed, as: UTF8.self))
    }

    /// SIGKILL: processes started from the test runner inherit its blocked SIGTERM.
    func stop() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}
