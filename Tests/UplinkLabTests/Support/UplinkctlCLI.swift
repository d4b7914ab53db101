import Foundation
import TestSupport

/// The built uplinkctl, run as a user runs it.
enum UplinkctlCLI {
    /// `environment` entries go through env(1), as `VAR=value uplinkctl ...` would.
    @discardableResult
    static func run(_ arguments: [String], environment: [String: String] = [:], input: String? = nil) throws
        -> ShellResult
    {
        try UplinkLabTests.run(
            environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" } + [Paths.uplinkctl.path] + arguments,
            input: input)
    }

    /// A config in a temporary file, removed when `body` ends.
    static func withConfig<T>(_ yaml: String, _ body: (String) throws -> T) throws -> T {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("uplinkctl-\(UUID().uuidString).yaml")
        try yaml.write(to: url, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: url) }
        return try body(url.path)
    }
}
