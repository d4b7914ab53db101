import Foundation

/// Runs a program for a test and captures what it printed. Tests may start processes
/// (ip, nft, iptables are the witnesses); uplinkctl itself never does.
struct ShellResult {
    let status: Int32
    let stdout: String
    let stderr: String
}

@discardableResult
func run(_ arguments: [String], input: String? = nil) throws -> ShellResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    // The input comes from a file, not a pipe: a child that stops reading (a script that fails
    // half-way) must not get the test runner killed by SIGPIPE.
    var inputFile: URL?
    if let input {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("uplinkctl-input-\(UUID().uuidString)")
        try input.write(to: url, atomically: false, encoding: .utf8)
        inputFile = url
    }
    defer { if let inputFile { try? FileManager.default.removeItem(at: inputFile) } }
    let inputHandle = try inputFile.map { try FileHandle(forReadingFrom: $0) }
    defer { try? inputHandle?.close() }
    process.standardInput = inputHandle ?? FileHandle.nullDevice
    try process.run()
    // Read before waiting, so a full pipe cannot block the child.
    let stdout = out.fileHandleForReading.readDataToEndOfFile()
    let stderr = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return ShellResult(
        status: process.terminationStatus,
        stdout: String(decoding: stdout, as: UTF8.self),
        stderr: String(decoding: stderr, as: UTF8.self))
}

/// Runs a command that must succeed; a failure carries its output into the test's message.
@discardableResult
func must(_ arguments: [String], input: String? = nil) throws -> String {
    let result = try run(arguments, input: input)
    guard result.status == 0 else {
        throw CommandFailed(
            command: arguments.joined(separator: " "), status: result.status, output: result.stdout + result.stderr)
    }
    return result.stdout
}

struct CommandFailed: Error, CustomStringConvertible {
    let command: String
    let status: Int32
    let output: String
    var description: String { "`\(command)` exited \(status):\n\(output)" }
}
