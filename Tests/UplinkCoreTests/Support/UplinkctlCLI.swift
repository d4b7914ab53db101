import Foundation

/// The built uplinkctl, run as a user runs it.
enum UplinkctlCLI {
    /// `environment` entries go through env(1), as `VAR=value uplinkctl ...` would.
    @discardableResult
    static func run(_ arguments: [String], environment: [String: String] = [:], input: String? = nil) throws -> ShellResult {
        try UplinkCoreTests.run(environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" } + [Paths.uplinkctl.path] + arguments, input: input)
    }

    /// A config in a temporary file, removed when `body` ends.
    static func withConfig<T>(_ yaml: String, _ body: (String) throws -> T) throws -> T {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("uplinkctl-\(UUID().uuidString).yaml")
        try yaml.write(to: url, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: url) }
        return try body(url.path)
    }
}

/// What the kernel of a namespace holds, as the witnesses print it: for comparing before and after.
struct KernelSnapshot: Equatable, CustomStringConvertible {
    let rules: String
    let rules6: String
    let routes: String
    let ruleset: String
    let sysctls: String

    /// `sysctls`: more settings to compare than forwarding and the uplinks' rp_filter.
    init(_ namespace: String, interfaces: [String] = ["up1", "up2", "up3"], sysctls more: [String] = []) throws {
        rules = try must(["ip", "-n", namespace, "rule", "show"])
        rules6 = try must(["ip", "-n", namespace, "-6", "rule", "show"])
        routes = try must(["ip", "-n", namespace, "route", "show", "table", "all"])
        ruleset = try must(["ip", "netns", "exec", namespace, "nft", "list", "ruleset"])
        let keys = ["net.ipv4.ip_forward"] + interfaces.map { "net.ipv4.conf.\($0).rp_filter" } + more
        sysctls = try must(["ip", "netns", "exec", namespace, "sysctl"] + keys)
    }

    var description: String { [rules, rules6, routes, ruleset, sysctls].joined(separator: "\n") }
}
