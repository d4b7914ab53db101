import Foundation
import TestSupport
import Testing

/// `uplinkctl run --netns HOST CONFIG` in the background for the time of a test, with its log
/// in a file that the test can wait on. Stopped with SIGTERM (then SIGKILL) by `stop`, which
/// `withRun` always calls.
final class RunningUplinkctl {
    let process = Process()
    let log: URL
    private var position = 0

    convenience init(host: String, config: String, extra: [String] = [], environment: [String: String] = [:]) throws {
        try self.init(["run", "--netns", host] + extra + [config], environment: environment)
    }

    /// Any uplinkctl command in the background (an `apply --confirm` that waits, for one).
    convenience init(_ arguments: [String], environment: [String: String] = [:]) throws {
        try self.init(commandLine: [Paths.uplinkctl.path] + arguments, environment: environment)
    }

    /// A whole command line (`ip netns exec HOST uplinkctl run CONFIG`, as a unit's ExecStart
    /// would run it), found on $PATH; the command must end up as this process (exec, no fork).
    init(commandLine: [String], environment: [String: String] = [:]) throws {
        log = FileManager.default.temporaryDirectory.appendingPathComponent("uplinkctl-run-\(UUID().uuidString).log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = commandLine
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        try process.run()
    }

    deinit { try? FileManager.default.removeItem(at: log) }

    var text: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }

    /// Waits (at most `timeout` seconds) for a log line after the last one waited for that
    /// contains `needle`; returns it.
    @discardableResult
    func waitFor(_ needle: String, timeout: Double = 10) throws -> String {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            if let index = lines.indices.first(where: { $0 >= position && lines[$0].contains(needle) }) {
                position = index + 1
                return lines[index]
            }
            if !process.isRunning { break }
            usleep(20_000)
        }
        throw CommandFailed(
            command: "uplinkctl run", status: process.isRunning ? 0 : process.terminationStatus,
            output: "no log line with '\(needle)' within \(timeout) s; the log:\n\(text)")
    }

    func signal(_ number: Int32) { kill(process.processIdentifier, number) }

    /// Its exit status once it has ended by itself (nil if it still runs after `timeout` seconds).
    func exitStatus(within timeout: Double) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        return process.isRunning ? nil : process.terminationStatus
    }

    /// SIGTERM; SIGKILL after 5 s. Returns how long it took to exit, in seconds.
    @discardableResult
    func stop() -> Double {
        guard process.isRunning else { return 0 }
        let start = Date()
        signal(SIGTERM)
        while process.isRunning && Date().timeIntervalSince(start) < 5 { usleep(5_000) }
        if process.isRunning {
            signal(SIGKILL)
            process.waitUntilExit()
        }
        return Date().timeIntervalSince(start)
    }

    static func with<T>(
        host: String, config: String, extra: [String] = [], environment: [String: String] = [:],
        _ body: (RunningUplinkctl) throws -> T
    ) throws -> T {
        let run = try RunningUplinkctl(host: host, config: config, extra: extra, environment: environment)
        defer { run.stop() }
        try run.waitFor("start:")
        return try body(run)
    }
}

/// UDP flows that live on across a test (Fixtures/lab/udp-flows.py in one namespace): each
/// `open` is a new connection, each `again` a datagram on an existing one.
final class UDPFlows {
    private let process = Process()
    private let input = Pipe()
    private let output = Pipe()
    private var buffer = Data()

    init(in namespace: String) throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["ip", "netns", "exec", namespace, Lab.python, Lab.script("udp-flows.py")]
        process.standardInput = input
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
    }

    deinit {
        try? input.fileHandleForWriting.close()
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    /// A new flow to `address`: its index and the answer.
    func open(_ address: String, port: Int = 7) throws -> (index: Int, answer: String) {
        let words = try ask("new \(address) \(port)").split(separator: " ", maxSplits: 1)
        return (Int(words[0]) ?? -1, words.count > 1 ? String(words[1]) : "")
    }

    /// Another datagram on flow `index`: the answer.
    func again(_ index: Int) throws -> String {
        let words = try ask("again \(index)").split(separator: " ", maxSplits: 1)
        return words.count > 1 ? String(words[1]) : ""
    }

    private func ask(_ command: String) throws -> String {
        input.fileHandleForWriting.write(Data((command + "\n").utf8))
        while true {
            if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: buffer[..<newline], as: UTF8.self)
                buffer.removeSubrange(...newline)
                return line
            }
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty {
                throw CommandFailed(command: "udp-flows.py", status: 0, output: "ended before answering \(command)")
            }
            buffer.append(chunk)
        }
    }
}
