@testable import UplinkCore

/// A valid config drawn from a seed (SplitMix64, never the system's random numbers), with what a
/// namespace needs for `apply` to accept it. The draw covers every key of the config reference:
/// 1-8 uplinks of IPv4, IPv6 or both (gateways, device-only families, `gateway: auto`, shared
/// interfaces), weights, mark masks, marks and tables given or derived, every balance mode, policies
/// of every match key, action and fallback, services of every backend form, health checks and MPTCP.
///
/// Every `labEvery`-th seed gives a config shaped to the lab's topology (uplinks among LabUplinks'
/// up1..up3 with their gateways, up1 always there and masquerading, so that every connection the
/// lab sends has a way back): real connections can then be sent through it.
///
/// What a seed makes depends on this generator: a change to it changes the configs of every seed.
public struct RandomConfig {
    public let seed: UInt64
    public let yaml: String
    /// Set for a config shaped to the lab.
    public let lab: LabShape?
    /// For any other config: the host namespace's interfaces, addresses and routes.
    public let wiring: HostWiring
    /// What the config uses (`balance:hash`, `family:dual`, `policies`, …), for the report.
    public let features: Set<String>

    public struct LabShape {
        public var ipv6: Bool
    }

    static let labEvery: UInt64 = 10

    public static func make(seed: UInt64) -> RandomConfig {
        var draw = ConfigDraw(seed: seed, labShaped: seed % labEvery == 0)
        return draw.config()
    }
}

/// The generator's state while it draws one config.
struct ConfigDraw {
    var rng: SplitMix64
    let seed: UInt64
    let labShaped: Bool
    var labIPv6 = false
    var balance = BalanceMode.nth
    var traffic: [TrafficKind] = [.local, .forwarded]
    var markMask = Config.defaultMarkMask
    var uplinks: [RandomUplink] = []
    var interfaces: [RandomInterface] = []
    var wiring = HostWiring()
    var features: Set<String> = []
    /// YAML lines of the top level, in the order written.
    var lines: [String] = []
    /// Tables of routes that are not uplinkctl's (`gateway: auto` learned in another table).
    var foreignTables: Set<UInt32> = []
    var topHealth = HealthDraw()

    init(seed: UInt64, labShaped: Bool) {
        self.seed = seed
        self.labShaped = labShaped
        rng = SplitMix64(seed: seed)
    }

    var ecmp: Bool { balance == .ecmp }

    mutating func config() -> RandomConfig {
        balance = rng.pick(BalanceMode.allCases)
        features.insert("balance:\(balance.rawValue)")
        if balance != .nth || rng.chance(0.6) { lines.append("balance: \(balance.rawValue)") }
        drawTraffic()
        for kind in traffic { features.insert("traffic:\(kind.rawValue)") }
        if labShaped { drawLabUplinks() } else { drawUplinks() }
        drawMarksAndTables()
        drawRulePriority()
        drawHealth()
        drawMptcp()
        let policies = drawPolicies()
        let services = drawServices()
        lines.append("uplinks:")
        lines += uplinks.flatMap { $0.yaml(flow: rng.chance(0.25)) }
        if !policies.isEmpty {
            lines.append("policies:")
            lines += policies
            features.insert("policies")
        }
        if !services.isEmpty {
            lines.append("services:")
            lines += services
            features.insert("services")
        }
        for family in IPFamily.allCases where uplinks.contains(where: { $0.families.contains(family) }) {
            features.insert("family:\(family.rawValue)")
        }
        if uplinks.contains(where: { $0.families.count == 2 }) { features.insert("family:dual") }
        if labShaped { features.insert("lab") }
        let header = "# Random config, seed \(seed)."
        return RandomConfig(
            seed: seed, yaml: ([header] + lines).joined(separator: "\n") + "\n",
            lab: labShaped ? RandomConfig.LabShape(ipv6: labIPv6) : nil,
            wiring: labShaped ? HostWiring() : wiring, features: features)
    }

    private mutating func drawTraffic() {
        // The lab's LAN client needs forwarding to reach anything: mostly forwarded there.
        let choices: [[TrafficKind]] =
            labShaped
            ? [[.local, .forwarded], [.forwarded], [.forwarded, .local], [.local]]
            : [[.local], [.forwarded], [.local, .forwarded], [.forwarded, .local]]
        guard rng.chance(labShaped ? 0.6 : 0.5) else { return }
        traffic = labShaped && rng.chance(0.7) ? choices[0] : rng.pick(choices)
        lines.append("traffic: [\(traffic.map(\.rawValue).joined(separator: ", "))]")
    }

    /// A mask with room for every uplink's mark (and the ECMP one), contiguous or scattered
    /// bits; some uplinks get a mark of their own inside it, some a table of their own.
    private mutating func drawMarksAndTables() {
        let needed = uplinks.count + (ecmp ? 1 : 0)
        var bits = 2
        while (1 << bits) - 2 < needed { bits += 1 }
        if rng.chance(0.4) {
            let width = rng.int(bits...min(bits + 8, 16))
            if rng.chance(0.6) {
                markMask = UInt32((UInt64(1) << width) - 1) << UInt32(rng.int(0...(32 - width)))
            } else {
                markMask = rng.some(Array(0..<32), count: width).reduce(UInt32(0)) { $0 | UInt32(1) << UInt32($1) }
            }
            lines.append("mark-mask: " + (rng.chance(0.8) ? hex(markMask) : String(markMask)))
            features.insert("mark-mask")
        }
        let room = (1 << markMask.nonzeroBitCount) - 2
        var marks: Set<UInt32> = []
        var tables: Set<UInt32> = foreignTables
        for index in uplinks.indices {
            if rng.chance(0.2) {
                let mark = depositBits(UInt32(rng.int(1...min(room, 1 << 20))), into: markMask)!
                if marks.insert(mark).inserted {
                    uplinks[index].mark = mark
                    uplinks[index].markInHex = rng.chance(0.7)
                    features.insert("explicit-mark")
                }
            }
            if rng.chance(0.2) {
                let table = drawTable()
                if tables.insert(table).inserted {
                    uplinks[index].table = table
                    features.insert("explicit-table")
                }
            }
        }
        if ecmp && rng.chance(0.3) {
            let table = drawTable()
            if tables.insert(table).inserted {
                lines.append("ecmp-table: \(table)")
                features.insert("ecmp-table")
            }
        }
    }

    /// A table number that is none of the kernel's (and not one of the foreign routes').
    private mutating func drawTable() -> UInt32 {
        while true {
            let table = UInt32(rng.chance(0.5) ? rng.int(1...300) : rng.int(1...Int(UInt32.max)))
            if !ConfigParser.reservedTables.contains(table) && !foreignTables.contains(table) { return table }
        }
    }

    private mutating func drawRulePriority() {
        guard rng.chance(0.3) else { return }
        lines.append("rule-priority: \(rng.chance(0.3) ? rng.pick([2, 32764]) : rng.int(2...32764))")
        features.insert("rule-priority")
    }
}

/// YAML scalars as the random configs write them.
enum YAMLScalar {
    /// A word as it is, anything else quoted (an interface name may hold characters YAML reads
    /// otherwise; a number, boolean or null word would not be read as a string).
    static func text(_ value: String) -> String {
        let special = ["true", "false", "yes", "no", "on", "off", "null", "y", "n", "~"]
        let word =
            value.first?.isLetter == true
            && value.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }
        if word && !special.contains(value.lowercased()) { return value }
        let escaped = value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
        return "\"" + escaped + "\""
    }

    /// IPv4 addresses and prefixes plain (as users write them), IPv6 quoted.
    static func address(_ value: String) -> String { value.contains(":") ? "\"\(value)\"" : value }

    /// One value alone, or a flow list.
    static func oneOrList(_ values: [String], alone: Bool) -> String {
        values.count == 1 && alone ? values[0] : "[" + values.joined(separator: ", ") + "]"
    }
}
