import Yams

/// The outcome of reading a config: the config if it is usable, and every finding.
public struct ConfigCheck: Sendable {
    public let config: Config?
    public let diagnostics: [ConfigDiagnostic]

    public var errors: [ConfigDiagnostic] { diagnostics.filter { $0.severity == .error } }
    public var warnings: [ConfigDiagnostic] { diagnostics.filter { $0.severity == .warning } }

    /// The config, or an error listing everything wrong with it.
    public func get() throws(InvalidConfig) -> Config {
        guard let config, errors.isEmpty else { throw InvalidConfig(diagnostics: diagnostics) }
        return config
    }
}

/// Turns the YAML text of a config into a `Config`, checking every rule of the format.
public enum ConfigParser {
    static let topLevelKeys = ["balance", "traffic", "mark-mask", "rule-priority", "uplinks"]
    static let uplinkKeys = ["name", "interface", "gateway", "weight", "mark", "table", "masquerade"]
    /// Tables the kernel itself uses: unspec, default, main, local.
    static let reservedTables: Set<UInt32> = [0, 253, 254, 255]
    static let maximumWeight: UInt64 = 1000
    static let firstDerivedTable: UInt32 = 110

    public static func parse(_ text: String, file: String) -> ConfigCheck {
        var reader = YAMLReader(file: file)
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch {
            reader.record(syntaxDiagnostic(error, file: file))
            return ConfigCheck(config: nil, diagnostics: reader.diagnostics)
        }
        guard let root else {
            reader.record(ConfigDiagnostic(at: SourceLocation(file: file, line: 1, column: 1),
                                           "the config is empty; it needs at least an 'uplinks:' list"))
            return ConfigCheck(config: nil, diagnostics: reader.diagnostics)
        }
        let config = readConfig(root, reader: &reader)
        let ordered = reader.diagnostics.sorted { $0.location < $1.location }
        return ConfigCheck(config: ordered.contains { $0.severity == .error } ? nil : config, diagnostics: ordered)
    }

    private static func readConfig(_ root: Node, reader: inout YAMLReader) -> Config? {
        let fields = reader.fields(of: root, named: "the config", allowed: topLevelKeys)
        var config = Config(uplinks: [])
        var usable = !fields.isEmpty || root.mapping != nil

        if let node = fields["balance"]?.value {
            if let mode = reader.choice(node, key: "balance", as: BalanceMode.self) { config.balance = mode } else { usable = false }
        }
        if let node = fields["traffic"]?.value {
            if let kinds = readTraffic(node, reader: &reader) { config.traffic = kinds } else { usable = false }
        }
        if let node = fields["mark-mask"]?.value {
            if let mask = reader.integer(node, key: "mark-mask", in: 1...0xffff_ffff, what: "a non-zero 32-bit mask such as 0xff00") {
                config.markMask = UInt32(mask)
            } else { usable = false }
        }
        if let node = fields["rule-priority"]?.value {
            if let priority = reader.integer(node, key: "rule-priority", in: 2...32765,
                                             what: "a rule priority from 2 to 32765 (before the main table's rule at 32766; the one below it is used for the exemption rule)") {
                config.rulePriority = UInt32(priority)
            } else { usable = false }
        }
        guard let (uplinksKey, uplinksNode) = fields["uplinks"] else {
            reader.error(root, "the config has no 'uplinks:' list; it needs at least one uplink with a name and an interface")
            return nil
        }
        guard let items = reader.sequence(uplinksNode, key: "uplinks", example: "'- name: wired'") else { return nil }
        if items.isEmpty {
            reader.error(uplinksKey, "'uplinks' is empty; list at least one uplink with a name and an interface")
            return nil
        }
        let drafts = items.map { readUplink($0, reader: &reader) }
        guard let uplinks = resolveUplinks(drafts, markMask: config.markMask, reader: &reader), usable else { return nil }
        config.uplinks = uplinks
        return config
    }

    private static func readTraffic(_ node: Node, reader: inout YAMLReader) -> Set<TrafficKind>? {
        guard let items = reader.sequence(node, key: "traffic", example: "[local, forwarded]") else { return nil }
        if items.isEmpty {
            reader.error(node, "'traffic' is empty; name what to balance: 'local', 'forwarded' or both")
            return nil
        }
        var kinds = Set<TrafficKind>()
        var ok = true
        for item in items {
            guard let kind = reader.choice(item, key: "traffic", as: TrafficKind.self) else { ok = false; continue }
            if !kinds.insert(kind).inserted { reader.error(item, "'\(kind.rawValue)' is listed twice in 'traffic'"); ok = false }
        }
        return ok ? kinds : nil
    }

    /// An uplink as written, before defaults that depend on the other uplinks are derived.
    struct UplinkDraft {
        var node: Node
        var name: String?
        var nameNode: Node?
        var interface: String?
        var gateway: IPAddress?
        var weight = 1
        var mark: (value: UInt32, node: Node)?
        var table: (value: UInt32, node: Node)?
        var masquerade = true
        var valid = true
    }

    private static func readUplink(_ node: Node, reader: inout YAMLReader) -> UplinkDraft {
        var draft = UplinkDraft(node: node)
        let before = reader.diagnostics.count
        let fields = reader.fields(of: node, named: "an uplink", allowed: uplinkKeys)
        if node.mapping == nil { draft.valid = false; return draft }

        if let (_, value) = fields["name"], let name = reader.string(value, key: "name") {
            if name.isEmpty || name.utf8.count > 15 || !name.unicodeScalars.allSatisfy(isNameScalar) {
                reader.error(value, "uplink name '\(name)' is not allowed; use 1 to 15 letters, digits, '-' or '_'")
            } else {
                draft.name = name
                draft.nameNode = value
            }
        } else if fields["name"] == nil {
            reader.error(node, "this uplink has no 'name'; give it a unique name of letters, digits, '-' or '_'")
        }
        if let (_, value) = fields["interface"], let interface = reader.string(value, key: "interface") {
            if let problem = interfaceNameProblem(interface) { reader.error(value, problem) } else { draft.interface = interface }
        } else if fields["interface"] == nil {
            reader.error(node, "this uplink has no 'interface'; name the network interface it leaves by, such as eth0")
        }
        if let (_, value) = fields["gateway"], let text = reader.string(value, key: "gateway") {
            switch IPAddress(text) {
            case .some(let address) where address.family == .ipv4:
                draft.gateway = address
            case .some:
                reader.error(value, "gateway '\(text)' is an IPv6 address; this version balances IPv4 only: give an IPv4 gateway, or leave 'gateway' out on a point-to-point link")
            case .none:
                reader.error(value, "gateway '\(text)' is not an IPv4 address; write it as four decimal numbers such as 198.18.1.1, or leave 'gateway' out on a point-to-point link")
            }
        }
        if let (_, value) = fields["weight"],
           let weight = reader.integer(value, key: "weight", in: 1...maximumWeight, what: "a whole number from 1 to \(maximumWeight)") {
            draft.weight = Int(weight)
        }
        if let (_, value) = fields["mark"],
           let mark = reader.integer(value, key: "mark", in: 1...0xffff_ffff, what: "a non-zero 32-bit mark such as 0x100") {
            draft.mark = (UInt32(mark), value)
        }
        if let (_, value) = fields["table"],
           let table = reader.integer(value, key: "table", in: 1...0xffff_ffff, what: "a routing table number from 1 to 4294967295, except 253, 254 and 255") {
            if reservedTables.contains(UInt32(table)) {
                reader.error(value, "table \(table) is the kernel's \(table == 253 ? "'default'" : table == 254 ? "'main'" : "'local'") table; choose another number from 1 to 4294967295")
            } else {
                draft.table = (UInt32(table), value)
            }
        }
        if let (_, value) = fields["masquerade"], let masquerade = reader.boolean(value, key: "masquerade") {
            draft.masquerade = masquerade
        }
        draft.valid = reader.diagnostics.count == before
        return draft
    }

    /// Checks what must be unique across uplinks and derives the default marks and tables.
    private static func resolveUplinks(_ drafts: [UplinkDraft], markMask: UInt32, reader: inout YAMLReader) -> [Uplink]? {
        var ok = drafts.allSatisfy(\.valid)
        var names: [String: Node] = [:]
        var marks: [UInt32: Node] = [:]
        var tables: [UInt32: Node] = [:]
        for draft in drafts {
            if let name = draft.name, let node = draft.nameNode {
                if let first = names[name] {
                    reader.error(node, "uplink name '\(name)' is used twice (first at line \(reader.location(of: first).line)); names must be unique")
                    ok = false
                } else { names[name] = node }
            }
            if let (mark, node) = draft.mark {
                if mark & ~markMask != 0 {
                    reader.error(node, "mark \(hex(mark)) has bits outside mark-mask \(hex(markMask)); uplinkctl only sets bits of its mask, so the mark must lie inside it (for example \(hex(depositBits(1, into: markMask) ?? markMask)))")
                    ok = false
                } else if let first = marks[mark] {
                    reader.error(node, "mark \(hex(mark)) is used by two uplinks (first at line \(reader.location(of: first).line)); each uplink needs its own mark")
                    ok = false
                } else { marks[mark] = node }
            }
            if let (table, node) = draft.table {
                if let first = tables[table] {
                    reader.error(node, "table \(table) is used by two uplinks (first at line \(reader.location(of: first).line)); each uplink needs its own table")
                    ok = false
                } else { tables[table] = node }
            }
        }
        guard ok else { return nil }

        // Defaults follow the slot: the n-th value that fits the mask, table 110 + slot;
        // values taken explicitly by other uplinks are skipped.
        var uplinks: [Uplink] = []
        var nextMarkIndex: UInt32 = 1
        var nextTable = firstDerivedTable
        for (slot, draft) in drafts.enumerated() {
            var mark = draft.mark?.value
            while mark == nil {
                guard let candidate = depositBits(nextMarkIndex, into: markMask), candidate != 0 else {
                    reader.error(draft.node, "mark-mask \(hex(markMask)) has room for \((1 << markMask.nonzeroBitCount) - 1) marks, too few for uplink \(slot + 1); widen the mask or give marks explicitly")
                    return nil
                }
                nextMarkIndex += 1
                if marks[candidate] == nil { mark = candidate; marks[candidate] = draft.node }
            }
            var table = draft.table?.value
            while table == nil {
                if tables[nextTable] == nil && !reservedTables.contains(nextTable) {
                    table = nextTable
                    tables[nextTable] = draft.node
                }
                nextTable += 1
            }
            uplinks.append(Uplink(name: draft.name!, interface: draft.interface!, gateway: draft.gateway,
                                  weight: draft.weight, mark: mark!, table: table!, masquerade: draft.masquerade))
        }
        return uplinks
    }

    private static func isNameScalar(_ scalar: Unicode.Scalar) -> Bool {
        scalar.isASCII && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || scalar == "-" || scalar == "_")
    }

    private static func syntaxDiagnostic(_ error: Error, file: String) -> ConfigDiagnostic {
        func at(_ mark: Mark) -> SourceLocation { SourceLocation(file: file, line: mark.line, column: mark.column) }
        switch error as? YamlError {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _), .composer(_, let problem, let mark, _):
            return ConfigDiagnostic(at: at(mark), "not valid YAML: \(problem)")
        case .duplicatedKeysInMapping(let duplicates, let context):
            return ConfigDiagnostic(at: at(context.mark), "key \(duplicates.map { "'\($0)'" }.joined(separator: ", ")) appears twice in the same mapping; each key may be given once")
        default:
            return ConfigDiagnostic(at: SourceLocation(file: file, line: 1, column: 1), "not valid YAML: \(error)")
        }
    }
}
