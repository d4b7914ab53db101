import Yams

/// Reading `health:`, at the top level (the defaults) and per uplink (overrides, or `false`).
extension ConfigParser {
    static let healthKeys = ["targets", "method", "port", "interval", "timeout", "down", "up"]
    static let durationRange: ClosedRange<UInt32> = 10...60_000

    /// The checks a `health:` mapping describes, starting from `base`; nil after reporting.
    static func readHealth(_ node: Node, base: HealthCheck, reader: inout YAMLReader) -> HealthCheck? {
        let before = reader.diagnostics.count
        let fields = reader.fields(of: node, named: "'health'", allowed: healthKeys)
        guard node.mapping != nil else { return nil }
        var check = base
        if let (_, value) = fields["targets"], case .sequence(let items) = value, items.isEmpty {
            check.targets = []  // none: only the link state counts
        } else if let (_, value) = fields["targets"],
            let items = reader.scalarOrList(value, key: "targets", what: "an IPv4 or IPv6 address")
        {
            check.targets = items.compactMap { item in
                guard let text = reader.string(item, key: "targets", what: "an address such as 198.19.0.1") else {
                    return nil
                }
                guard let address = IPAddress(text) else {
                    reader.error(
                        item, "'targets' must list addresses such as 198.19.0.1 or 2001:2::1; '\(text)' is not one")
                    return nil
                }
                return address
            }
        }
        if let (_, value) = fields["method"],
            let method = reader.choice(value, key: "method", as: HealthCheck.Method.self)
        {
            check.method = method
        }
        if let (_, value) = fields["port"],
            let port = reader.integer(value, key: "port", in: 1...65535, what: "a TCP port from 1 to 65535")
        {
            check.port = UInt16(port)
        }
        readTiming(fields, into: &check, reader: &reader)
        if check.method == .tcp && check.port == nil {
            reader.error(
                fields["method"]?.value ?? node, "'method: tcp' needs a 'port' to connect to, such as 'port: 443'")
        }
        if check.method == .icmp, let (key, _) = fields["port"] {
            reader.error(key, "'port' is for 'method: tcp'; ICMP echo has no port")
        }
        return reader.diagnostics.count == before ? check : nil
    }

    /// `interval`, `timeout`, `down` and `up` of a `health:` mapping.
    static func readTiming(
        _ fields: [String: (key: Node, value: Node)], into check: inout HealthCheck, reader: inout YAMLReader
    ) {
        for (key, path) in [("interval", \HealthCheck.interval), ("timeout", \HealthCheck.timeout)] {
            guard let (_, value) = fields[key], let duration = readDuration(value, key: key, reader: &reader) else {
                continue
            }
            check[keyPath: path] = duration
        }
        for (key, path) in [("down", \HealthCheck.down), ("up", \HealthCheck.up)] {
            guard let (_, value) = fields[key],
                let rounds = reader.integer(value, key: key, in: 1...100, what: "a number of rounds from 1 to 100")
            else { continue }
            check[keyPath: path] = Int(rounds)
        }
    }

    /// `200ms`, `1s`, `1.5s`, from 10 ms to 60 s.
    static func readDuration(_ node: Node, key: String, reader: inout YAMLReader) -> Milliseconds? {
        let what = "a duration from 10ms to 60s, such as 200ms or 1.5s"
        guard let text = reader.string(node, key: key, what: what) else { return nil }
        guard let duration = Milliseconds(text: text), durationRange.contains(duration.value) else {
            let hint = UInt32(text) != nil ? " (give a unit: '\(text)ms' or '\(text)s')" : ""
            reader.error(node, "'\(key)' must be \(what); '\(text)' is not\(hint)")
            return nil
        }
        return duration
    }

    /// An uplink's `health:`: a mapping over the defaults, `false` (never checked, always in),
    /// or `true` (the defaults). The outer nil means an error was reported.
    static func readUplinkHealth(_ node: Node, defaults: HealthCheck, reader: inout YAMLReader) -> HealthCheck?? {
        if case .scalar = node {
            guard let enabled = reader.boolean(node, key: "health") else { return nil }
            return .some(enabled ? defaults : nil)
        }
        guard let check = readHealth(node, base: defaults, reader: &reader) else { return nil }
        return .some(check)
    }
}
