import Foundation
import Testing
import UplinkKernel

/// Throwaway network namespaces for tests that need a kernel. Every namespace made here is
/// named `ulk-<pid>-<n>-<role>` and removed when the test's closure ends, also on failure, and
/// with it what uplinkctl kept for it under /run/uplinkctl.
/// Nothing is ever connected to the machine's own namespace.
enum Namespaces {
    /// CI sets UPLINKCTL_REQUIRE_LAB=1: there a lab test that cannot make namespaces fails.
    static let required = ProcessInfo.processInfo.environment["UPLINKCTL_REQUIRE_LAB"] == "1"

    /// Root and `ip netns` present: the lab can be built.
    static let available: Bool = {
        guard geteuid() == 0 else { return false }
        return (try? run(["ip", "netns", "list"]).status) == 0
    }()

    /// For `.enabled(if:)`: run when possible, and always when required (so CI fails, not skips).
    static let enabled = available || required

    nonisolated(unsafe) private static var counter = 0
    private static let lock = NSLock()

    static func uniqueName(_ role: String) -> String {
        lock.lock()
        defer { lock.unlock() }
        counter += 1
        return "ulk-\(getpid())-\(counter)-\(role)"
    }

    /// Makes the namespaces, runs `body` with their names, and deletes them whatever happens.
    static func with<T>(_ roles: [String], _ body: ([String]) throws -> T) throws -> T {
        var made: [String] = []
        defer {
            for name in made { _ = try? run(["ip", "netns", "del", name]) }
            StateStore.pruneGone()
        }
        for role in roles {
            let name = uniqueName(role)
            try must(["ip", "netns", "add", name])
            made.append(name)
            try must(["ip", "-n", name, "link", "set", "lo", "up"])
        }
        return try body(made)
    }

    /// `ip netns exec NAME ARGS...`
    static func exec(_ namespace: String, _ arguments: [String], input: String? = nil) throws -> ShellResult {
        try run(["ip", "netns", "exec", namespace] + arguments, input: input)
    }
}
