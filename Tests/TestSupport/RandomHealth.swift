@testable import UplinkCore

/// What a `health:` mapping leaves in effect for the overrides below it: an uplink's mapping
/// needs a `port` for `tcp` unless the top level gave one, and may not give one for `icmp`.
struct HealthDraw {
    var method = HealthCheck.Method.icmp
    var hasPort = false
}

extension ConfigDraw {
    /// The top-level `health:` (sometimes), and some uplinks' own: `false`, `true` or a mapping
    /// over the top level's, with targets of the families the uplink carries.
    mutating func drawHealth() {
        if rng.chance(0.35) {
            let (text, draw) = healthMapping(families: IPFamily.allCases, base: HealthDraw(), topLevel: true)
            lines.append("health: \(text)")
            topHealth = draw
            features.insert("health")
        }
        for index in uplinks.indices where rng.chance(0.25) {
            switch rng.int(0...2) {
            case 0: uplinks[index].health = "false"
            case 1: uplinks[index].health = "true"
            default:
                let families = uplinks[index].families
                uplinks[index].health = healthMapping(families: families, base: topHealth, topLevel: false).text
            }
            features.insert("health")
        }
    }

    private mutating func healthMapping(
        families: [IPFamily], base: HealthDraw,
        topLevel: Bool
    ) -> (text: String, draw: HealthDraw) {
        var fields: [String] = []
        var draw = base
        if rng.chance(0.6) {
            if topLevel && rng.chance(0.15) {
                fields.append("targets: []")
            } else {
                let targets = (0..<rng.int(1...3)).map { _ in healthTarget(rng.pick(families)) }
                let written = targets.map(YAMLScalar.address)
                fields.append("targets: " + YAMLScalar.oneOrList(written, alone: rng.chance(0.3)))
            }
        }
        if rng.chance(0.4) {
            draw.method = rng.chance(0.5) ? .tcp : .icmp
            fields.append("method: \(draw.method.rawValue)")
        }
        if draw.method == .tcp && (!draw.hasPort || rng.chance(0.3)) {
            fields.append("port: \(rng.chance(0.5) ? rng.pick([22, 80, 443]) : rng.int(1...65535))")
            draw.hasPort = true
        }
        for key in ["interval", "timeout"] where rng.chance(0.35) {
            let durations = ["10ms", "50ms", "150ms", "300ms", "1s", "1.5s", "2s", "60s", "\(rng.int(10...60_000))ms"]
            fields.append("\(key): \(rng.pick(durations))")
        }
        for key in ["down", "up"] where rng.chance(0.3) {
            fields.append("\(key): \(rng.chance(0.7) ? rng.int(1...6) : rng.int(1...100))")
        }
        return ("{" + fields.joined(separator: ", ") + "}", draw)
    }

    private mutating func healthTarget(_ family: IPFamily) -> String {
        family == .ipv4 ? "198.18.250.\(rng.int(1...254))" : "2001:2:0:250::\(String(rng.int(1...0xffff), radix: 16))"
    }

    /// `mptcp: true` (sometimes `false`), its limits and announcing, some uplinks without
    /// subflows; never more than the kernel's 8 endpoints (an endpoint per address of each
    /// uplink that carries subflows and has its interface to itself).
    mutating func drawMptcp() {
        let choice = rng.int(0...19)
        guard choice < 6 else { return }
        if choice == 0 {
            lines.append("mptcp: false")
            return
        }
        lines.append("mptcp: true")
        features.insert("mptcp")
        if rng.chance(0.4) {
            var limits: [String] = []
            if rng.chance(0.7) { limits.append("subflows: \(rng.int(0...8))") }
            if limits.isEmpty || rng.chance(0.5) { limits.append("add-addr-accepted: \(rng.int(0...8))") }
            lines.append("mptcp-limits: {\(limits.joined(separator: ", "))}")
        }
        if rng.chance(0.3) { lines.append("mptcp-announce: \(rng.chance(0.5))") }
        for index in uplinks.indices where rng.chance(0.3) { uplinks[index].mptcp = rng.chance(0.5) }
        while mptcpEndpoints() > MptcpEndpointLimit.kernel,
            let index = uplinks.lastIndex(where: { $0.mptcp != false && endpoints(of: $0) > 0 })
        {
            uplinks[index].mptcp = false
        }
    }

    private func mptcpEndpoints() -> Int {
        uplinks.filter { $0.mptcp != false }.map(endpoints(of:)).reduce(0, +)
    }

    private func endpoints(of uplink: RandomUplink) -> Int {
        guard uplinks.count(where: { $0.interface == uplink.interface }) == 1,
            let interface = interfaces.first(where: { $0.name == uplink.interface })
        else { return 0 }
        return uplink.families.map { interface.hosts($0).count }.reduce(0, +)
    }
}

enum MptcpEndpointLimit {
    /// MPTCP_PM_ADDR_MAX: the in-kernel path manager refuses a ninth endpoint.
    static let kernel = 8
}
