import Foundation

@testable import UplinkCore

/// What the kernel of a namespace holds, as the witnesses print it: for comparing before and
/// after. Read by one shell in the namespace (process starts are most of the cost).
struct KernelSnapshot: Equatable, CustomStringConvertible {
    let rules: String
    let rules6: String
    let routes: String
    let routes6: String
    let ruleset: String
    let sysctls: String
    /// `ip mptcp endpoint show` and `ip mptcp limits show` ("no MPTCP" without a path manager).
    let mptcp: String

    /// `sysctls`: more settings to compare than forwarding and the uplinks' rp_filter.
    init(_ namespace: String, interfaces: [String] = ["up1", "up2", "up3"], sysctls more: [String] = []) throws {
        try self.init(
            namespace, sysctlKeys: ["net.ipv4.ip_forward"] + interfaces.map { "net.ipv4.conf.\($0).rp_filter" } + more)
    }

    init(_ namespace: String, sysctlKeys keys: [String]) throws {
        let commands = [
            "ip rule show", "ip -6 rule show", "ip route show table all", "ip -6 route show table all",
            "nft list ruleset", Self.readSysctls(keys),
            "if ip mptcp limits show >/dev/null 2>&1; then ip mptcp endpoint show; ip mptcp limits show; "
                + "else echo 'no MPTCP'; fi"
        ]
        let script = "set -e\n" + commands.joined(separator: "\necho \(shellQuoted(Self.separator))\n")
        let parts = try must(["ip", "netns", "exec", namespace, "sh", "-c", script])
            .components(separatedBy: Self.separator + "\n")
        guard parts.count == Self.fields.count else {
            throw CommandFailed(command: "snapshot of \(namespace)", status: 0, output: parts.joined(separator: "\n"))
        }
        (rules, rules6, routes, routes6, ruleset, sysctls, mptcp) = (
            parts[0], parts[1], parts[2], parts[3], parts[4], parts[5],
            parts[6]
        )
    }

    /// The settings read from /proc/sys (sysctl(8) takes a '=' in a key, as an interface name
    /// may have one, for the start of a value), printed as sysctl(8) prints them. A key names
    /// its path as sysctl(8) does: '.' for '/', '/' for a dot inside a component.
    private static func readSysctls(_ keys: [String]) -> String {
        let pairs = keys.flatMap { key in [key, String(key.map { $0 == "." ? "/" : $0 == "/" ? "." : $0 })] }
        return "set -- " + pairs.map(shellQuoted).joined(separator: " ") + "\n"
            + #"while [ $# -gt 1 ]; do v=$(cat "/proc/sys/$2") || exit 1; "#
            + #"printf '%s = %s\n' "$1" "$v"; shift 2; done"#
    }

    private static let separator = "--- snapshot field ---"
    static let fields = [
        "ip rule", "ip -6 rule", "ip route", "ip -6 route", "nft list ruleset", "sysctl", "ip mptcp"
    ]

    var values: [String] { [rules, rules6, routes, routes6, ruleset, sysctls, mptcp] }

    /// Each witness with the name it is shown under, in a fixed order.
    var parts: [(name: String, text: String)] { Array(zip(Self.fields, values)) }

    var description: String { values.joined(separator: "\n") }

    /// Per witness, the lines only `before` has (-) and those only this one has (+), counted as
    /// multisets; lines that only moved are said as such. Empty when equal.
    func changes(since before: KernelSnapshot) -> [(field: String, removed: [String], added: [String])] {
        zip(Self.fields, zip(before.values, values)).compactMap { field, pair in
            guard pair.0 != pair.1 else { return nil }
            let (removed, added) = Self.lineDifference(pair.0, pair.1)
            return (field, removed, added)
        }
    }

    /// For a test's message: each witness that differs, its lines that went and came.
    func difference(from before: KernelSnapshot) -> String {
        changes(since: before).map { change in
            let lines = change.removed.map { "- \($0)" } + change.added.map { "+ \($0)" }
            return "\(change.field):\n"
                + (lines.isEmpty ? "  (the same lines, in another order)" : lines.joined(separator: "\n"))
        }.joined(separator: "\n")
    }

    /// The same routes and settings; the same rules in any order (the kernel adds a rule after
    /// the others of its priority); the same nft objects, each with its rules in the same order,
    /// in any order of objects; the same MPTCP endpoints, whatever their ids: what an apply that
    /// re-adds rules and endpoints and updates a table (rather than creating it) gives.
    func sameContent(as other: KernelSnapshot) -> Bool {
        func sorted(_ text: String) -> [Substring] { text.split(separator: "\n").sorted() }
        return [routes, routes6, sysctls] == [other.routes, other.routes6, other.sysctls]
            && sorted(rules) == sorted(other.rules) && sorted(rules6) == sorted(other.rules6)
            && Self.objectsSorted(ruleset) == Self.objectsSorted(other.ruleset)
            && sorted(Self.withoutIds(mptcp)) == sorted(Self.withoutIds(other.mptcp))
    }

    /// The ruleset with each table's objects (counters, sets, maps, chains) sorted: their order
    /// is the order they were created in.
    static func objectsSorted(_ ruleset: String) -> String {
        var lines: [String] = []
        var objects: [String] = []
        var current: [String] = []
        for line in ruleset.split(separator: "\n") {
            if line.hasPrefix("table ") {
                lines.append(String(line))
            } else if line == "}" {
                lines += objects.sorted() + ["}"]
                objects = []
            } else {
                current.append(String(line))
                if line == "\t}" {
                    objects.append(current.joined(separator: "\n"))
                    current = []
                }
            }
        }
        return lines.joined(separator: "\n")
    }

    static func withoutIds(_ mptcp: String) -> String { mptcp.replacing(/\ id \d+/, with: "") }

    static func lineDifference(_ old: String, _ new: String) -> (removed: [String], added: [String]) {
        var counts: [Substring: Int] = [:]
        for line in old.split(separator: "\n") { counts[line, default: 0] += 1 }
        var added: [String] = []
        for line in new.split(separator: "\n") {
            if let count = counts[line], count > 0 { counts[line] = count - 1 } else { added.append(String(line)) }
        }
        let removed = old.split(separator: "\n").reduce(into: (left: counts, lines: [String]())) { state, line in
            guard let count = state.left[line], count > 0 else { return }
            state.left[line] = count - 1
            state.lines.append(String(line))
        }.lines
        return (removed, added)
    }
}
