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
    let routes6: String
    let ruleset: String
    let sysctls: String
    /// The MPTCP path manager's endpoints and limits (empty in a kernel without MPTCP).
    let mptcp: String

    /// `sysctls`: more settings to compare than forwarding and the uplinks' rp_filter.
    init(_ namespace: String, interfaces: [String] = ["up1", "up2", "up3"], sysctls more: [String] = []) throws {
        rules = try must(["ip", "-n", namespace, "rule", "show"])
        rules6 = try must(["ip", "-n", namespace, "-6", "rule", "show"])
        routes = try must(["ip", "-n", namespace, "-4", "route", "show", "table", "all"])
        routes6 = try must(["ip", "-n", namespace, "-6", "route", "show", "table", "all"])
        ruleset = try must(["ip", "netns", "exec", namespace, "nft", "list", "ruleset"])
        let keys = ["net.ipv4.ip_forward"] + interfaces.map { "net.ipv4.conf.\($0).rp_filter" } + more
        // Read from /proc/sys (sysctl(8) takes a '=' in a key, as an interface name may have
        // one, for the start of a value), printed as sysctl(8) prints them. A key names its path
        // as sysctl(8) does: '.' for '/', '/' for a dot inside a component.
        let pairs = keys.flatMap { key in [key, String(key.map { $0 == "." ? "/" : $0 == "/" ? "." : $0 })] }
        let read = #"while [ $# -gt 1 ]; do v=$(cat "/proc/sys/$2") || exit 1; "#
            + #"printf '%s = %s\n' "$1" "$v"; shift 2; done"#
        sysctls = try must(["ip", "netns", "exec", namespace, "sh", "-c", read, "sh"] + pairs)
        let endpoints = try run(["ip", "-n", namespace, "mptcp", "endpoint", "show"])
        let limits = try run(["ip", "-n", namespace, "mptcp", "limits", "show"])
        mptcp = endpoints.status == 0 && limits.status == 0 ? endpoints.stdout + limits.stdout : ""
    }

    /// Each part with the name it is shown under, in a fixed order.
    var parts: [(name: String, text: String)] {
        [("ip rule", rules), ("ip -6 rule", rules6), ("ip -4 route show table all", routes),
         ("ip -6 route show table all", routes6), ("nft list ruleset", ruleset), ("sysctl", sysctls),
         ("ip mptcp", mptcp)]
    }

    var description: String { parts.map(\.text).joined(separator: "\n") }
}
