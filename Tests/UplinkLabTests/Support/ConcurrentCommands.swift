import Foundation
import TestSupport

/// Command lines started together: each is started under flock(1) on a barrier file this
/// holds exclusively, and once every one of them waits there (as /proc/locks shows), the
/// barrier is released and all go at once. Output goes to files, so that none blocks on a pipe.
enum ConcurrentCommands {
    static func run(_ commands: [[String]], timeout: Double = 60) throws -> [ShellResult] {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "uplinkctl-together-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let barrier = directory.appendingPathComponent("barrier").path
        let held = open(barrier, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard held >= 0, flock(held, LOCK_EX) == 0 else {
            throw CommandFailed(command: "flock \(barrier)", status: errno, output: "")
        }
        var released = false
        defer { if !released { close(held) } }
        var started: [(process: Process, out: URL, err: URL)] = []
        defer { for entry in started where entry.process.isRunning { kill(entry.process.processIdentifier, SIGKILL) } }
        for (index, command) in commands.enumerated() {
            let out = directory.appendingPathComponent("\(index).out")
            let err = directory.appendingPathComponent("\(index).err")
            for file in [out, err] { _ = FileManager.default.createFile(atPath: file.path, contents: nil) }
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["flock", "-s", barrier] + command
            process.standardInput = FileHandle.nullDevice
            process.standardOutput = try FileHandle(forWritingTo: out)
            process.standardError = try FileHandle(forWritingTo: err)
            try process.run()
            started.append((process, out, err))
        }
        try waitForWaiters(commands.count, on: barrier)
        close(held)
        released = true
        let deadline = Date().addingTimeInterval(timeout)
        return try started.map { entry in
            while entry.process.isRunning && Date() < deadline { usleep(10_000) }
            if entry.process.isRunning { kill(entry.process.processIdentifier, SIGKILL) }
            entry.process.waitUntilExit()
            return ShellResult(
                status: entry.process.terminationStatus, stdout: try Paths.read(entry.out),
                stderr: try Paths.read(entry.err))
        }
    }

    /// Until `count` processes wait for a lock on `path` (its inode's blocked entries, "->").
    private static func waitForWaiters(_ count: Int, on path: String) throws {
        var status = stat()
        guard stat(path, &status) == 0 else { throw CommandFailed(command: "stat \(path)", status: errno, output: "") }
        let inode = ":\(status.st_ino) "
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            let locks = try Paths.read(URL(fileURLWithPath: "/proc/locks"))
            if locks.split(separator: "\n").filter({ $0.contains("->") && $0.contains(inode) }).count >= count {
                return
            }
            usleep(5_000)
        }
        throw CommandFailed(
            command: "barrier", status: 0, output: "fewer than \(count) commands reached the barrier within 10 s")
    }
}
