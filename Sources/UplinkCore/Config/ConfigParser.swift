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
    static let topLevelKeys =
        [
            "balance", "ecmp-table", "traffic", "mark-mask", "rule-priority", "health", "uplinks",
            "policies", "services"
        ] + mptcpKeys
    static let uplinkKeys = [
        "name", "interface", "gateway", "family", "weight", "mark", "table", "masquerade",
        "masquerade6", "health", "mptcp"
    ]
    /// Tables the kernel itself uses: unspec, default, main, local.
    static let reservedTables: Set<UInt32> = [0, 253, 254, 255]
    static let maximumWeight: UInt64 = 1000
    /// The kernel keeps a multipath nexthop's weight in one byte, as weight - 1.
    static let maximumEcmpWeight = 256
    static let firstDerivedTable: UInt32 = 110
    /// Other names people give the balance modes, for the did-you-mean hint.
    static let balanceSynonyms: [String: BalanceMode] = [
        "roundrobin": .nth, "round-robin": .nth, "round_robin": .nth, "rr": .nth, "wrr": .nth, "weighted": .nth,
        "rand": .random, "shuffle": .random
    ]

    public static func parse(_ text: String, file: String) -> ConfigCheck {
        var reader = YAMLReader(file: file, text: text)
        if let key = AliasedKey.first(in: text) {
            reader.record(
                ConfigDiagnostic(
                    at: reader.location((key.line, key.column)),
                    "a key here is, or holds, the alias '*\(key.alias)' of a list or mapping; keys "
                        + "must be plain words such as 'name' (nothing else in the file was checked)"))
            return ConfigCheck(config: nil, diagnostics: reader.diagnostics)
        }
        let root: Node?
        do {
            // Nodes only: the reader interprets every scalar itself, so no tag resolution (Yams'
            // default resolver compiles seven ICU regular expressions first), no constructors
            // for Swift values, and UTF-8 without asking the environment.
            root = try Yams.compose(yaml: text, .basic, Constructor([:], [:], [:]), .utf8)
        } catch {
            reader.record(syntaxDiagnostic(error, text: text, reader: reader))
            return ConfigCheck(config: nil, diagnostics: reader.diagnostics)
        }
        guard let root else {
            reader.record(
                ConfigDiagnostic(
                    at: SourceLocation(file: file, line: 1, column: 1),
                    "the config is empty; it needs at least an 'uplinks:' list"))
            return ConfigCheck(config: nil, diagnostics: reader.diagnostics)
        }
        var config = readConfig(root, reader: &reader)
        config?.text = SourceText(text)
        let ordered = reader.diagnostics.sorted { $0.location < $1.location }
        return ConfigCheck(config: ordered.contains { $0.severity == .error } ? nil : config, diagnostics: ordered)
    }

    private static func readConfig(_ root: Node, reader: inout YAMLReader) -> Config? {
        let fields = reader.fields(of: root, named: "the config", allowed: topLevelKeys)
        guard root.mapping != nil else { return nil }
        var config = Config(uplinks: [])
        var usable = true
        var markMask: UInt32? = config.markMask
        // nil while unknown (an invalid value was reported): checks that depend on it are skipped.
        var balance: BalanceMode? = config.balance
        var traffic: Set<TrafficKind>? = config.traffic

        if let node = fields["balance"]?.value {
            if let mode = reader.choice(node, key: "balance", as: BalanceMode.self, synonyms: balanceSynonyms) {
                config.balance = mode
                balance = mode
            } else {
                usable = false
                balance = nil
            }
        }
        var ecmpTable: (value: UInt32, node: Node)?
        if let (key, value) = fields["ecmp-table"] {
            if let table = readTable(value, key: "ecmp-table", reader: &reader) {
                if let balance, balance != .ecmp {
                    let given = fields["balance"] == nil ? "the default, 'nth'" : "'\(balance.rawValue)'"
                    reader.error(
                        key,
                        "'ecmp-table' is only used with 'balance: ecmp' (balance "
                            + "is \(given)); drop it, or set 'balance: ecmp'"
                    )
                    usable = false
                } else {
                    ecmpTable = (table, value)
                }
            } else {
                usable = false
            }
        }
        if let node = fields["traffic"]?.value {
            if let kinds = readTraffic(node, reader: &reader) {
                config.traffic = kinds
                traffic = kinds
            } else {
                usable = false
                traffic = nil
            }
        }
        if let node = fields["mark-mask"]?.value {
            if let mask = reader.integer(
                node, key: "mark-mask", in: 1...0xffff_ffff, what: "a non-zero 32-bit mask such as 0xff00")
            {
                config.markMask = UInt32(mask)
                markMask = config.markMask
            } else {
                usable = false
                markMask = nil
            }
        }
        if let node = fields["rule-priority"]?.value {
            if let priority = reader.integer(
                node, key: "rule-priority", in: 2...32764,
                what:
                    "a whole number from 2 to 32764 (uplinkctl's rules use this priority "
                    + "and the ones just below and above it, which must stay after the "
                    + "local table's rule at 0 and before the main table's at 32766)"
            ) {
                config.rulePriority = UInt32(priority)
            } else {
                usable = false
            }
        }
        var healthDefaults = HealthCheck.defaults
        var healthRead = false
        if let node = fields["health"]?.value {
            if let check = readHealth(node, base: .defaults, reader: &reader) {
                healthDefaults = check
                healthRead = true
            } else {
                usable = false
            }
        }
        let (mptcp, mptcpUsable) = readMptcp(fields, reader: &reader)
        usable = usable && mptcpUsable
        guard let uplinksNode = fields["uplinks"]?.value else {
            reader.error(
                root, "the config has no 'uplinks:' list; it needs at least one uplink with a name and an interface")
            return nil
        }
        guard let items = reader.sequence(uplinksNode, key: "uplinks", example: "'- name: wired'") else { return nil }
        if items.isEmpty {
            reader.error(uplinksNode, "'uplinks' is empty; list at least one uplink with a name and an interface")
            return nil
        }
        let drafts = items.map {
            readUplink($0, markMask: markMask, health: healthDefaults, mptcp: mptcp != nil, reader: &reader)
        }
        checkMptcp(mptcp, drafts: drafts, node: fields["mptcp"]?.key, reader: &reader)
        if healthRead {
            for draft in drafts where draft.valid && draft.health?.targets.isEmpty == true {
                reader.warning(
                    draft.node,
                    "uplink '\(draft.name ?? "?")' has no health 'targets': only its link state counts, so a "
                        + "gateway that stops forwarding behind a live link is not noticed (nor anything behind "
                        + "a tunnel or a PPP link, which keep their carrier); give it targets beyond its gateway"
                )
            }
        }
        if balance == .ecmp {
            for draft in drafts where draft.weight > maximumEcmpWeight {
                guard let node = draft.weightNode else { continue }
                reader.error(
                    node,
                    "with 'balance: ecmp', 'weight' must be a whole number from 1 to \(maximumEcmpWeight), the "
                        + "largest weight the kernel gives a multipath route's nexthop; '\(draft.weight)' is not"
                )
                usable = false
            }
            // The kernel refuses device-only IPv6 next hops in a multipath route.
            for draft in drafts
            where draft.families?.contains(.ipv6) == true && !draft.gatewayAuto
                && !draft.gateways.contains(where: { $0.family == .ipv6 })
            {
                reader.error(
                    draft.node,
                    "with 'balance: ecmp', an uplink that carries IPv6 needs an IPv6 "
                        + "'gateway': the kernel refuses device-only IPv6 next hops in a "
                        + "multipath route (a link-local gateway such as fe80::1 will do)"
                )
                usable = false
            }
        }
        var policies: [Policy]? = []
        if let node = fields["policies"]?.value {
            let context = PolicyContext(drafts: drafts, balance: balance, traffic: traffic)
            policies = readPolicies(node, context: context, reader: &reader)
        }
        var services: [Service]? = []
        if let node = fields["services"]?.value {
            services = readServices(node, policies: policies ?? [], reader: &reader)
        }
        let ecmp = balance == .ecmp ? EcmpRequest(table: ecmpTable, balanceNode: fields["balance"]?.value ?? root) : nil
        guard let (uplinks, ecmpTarget) = resolveUplinks(drafts, markMask: markMask, ecmp: ecmp, reader: &reader),
            let policies, let services, usable
        else { return nil }
        config.services = services
        config.uplinks = uplinks
        config.mptcp = mptcp
        config.policies = policies
        config.ecmp = ecmpTarget
        return config
    }

    /// A routing table number other than the kernel's own tables.
    private static func readTable(_ node: Node, key: String, reader: inout YAMLReader) -> UInt32? {
        guard
            let table = reader.integer(
                node, key: key, in: 1...0xffff_ffff,
                what: "a routing table number from 1 to 4294967295, except 253, 254 and 255")
        else { return nil }
        guard !reservedTables.contains(UInt32(table)) else {
            reader.error(
                node,
                "table \(table) is the kernel's \(table == 253 ? "'default'" : table == 254 ? "'main'" : "'local'") "
                    + "table; choose a number from 1 to 4294967295 other than 253, 254 and 255"
            )
            return nil
        }
        return UInt32(table)
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
            guard let kind = reader.choice(item, key: "traffic", as: TrafficKind.self) else {
                ok = false
                continue
            }
            if !kinds.insert(kind).inserted {
                reader.error(
                    item,
                    "'\(kind.rawValue)' is listed twice in 'traffic'; list each of 'local' and 'forwarded' at most once"
                )
                ok = false
            }
        }
        return ok ? kinds : nil
    }

    /// An uplink as written, before defaults that depend on the other uplinks are derived.
    struct UplinkDraft {
        var node: Node
        var name: String?
        var nameNode: Node?
        var interface: String?
        var gateways: [IPAddress] = []
        var gatewayAuto = false
        /// The families it carries; nil when `gateway` or `family` was invalid.
        var families: [IPFamily]? = [.ipv4]
        var weight = 1
        var weightNode: Node?
        var mark: (value: UInt32, node: Node)?
        var table: (value: UInt32, node: Node)?
        var masquerade = true
        var masquerade6 = false
        var health: HealthCheck?
        /// Carries MPTCP subflows (with `mptcp: true` at the top level).
        var mptcp = true
        var valid = true

        /// Its complete form: when it was read without a problem, its name and interface are known.
        var complete: CompleteUplinkDraft? {
            guard valid, let name, let interface else { return nil }
            return CompleteUplinkDraft(draft: self, name: name, interface: interface)
        }
    }

    /// An uplink read without a problem, waiting only for the mark and table that may depend on
    /// the other uplinks.
    struct CompleteUplinkDraft {
        let draft: UplinkDraft
        let name: String
        let interface: String

        func uplink(mark: UInt32, table: UInt32) -> Uplink {
            var uplink = Uplink(
                name: name, interface: interface, families: draft.families, gateways: draft.gateways,
                weight: draft.weight, mark: mark, table: table,
                masquerade: draft.masquerade, masquerade6: draft.masquerade6, health: draft.health)
            uplink.gatewayAuto = draft.gatewayAuto
            uplink.mptcp = draft.mptcp
            return uplink
        }
    }

    /// What `balance: ecmp` asks of the mark and table derivation.
    struct EcmpRequest {
        var table: (value: UInt32, node: Node)?
        /// Where to report that the mask has no mark left for it.
        var balanceNode: Node
    }

    private static func readUplink(
        _ node: Node, markMask: UInt32?, health: HealthCheck, mptcp: Bool,
        reader: inout YAMLReader
    ) -> UplinkDraft {
        var draft = UplinkDraft(node: node)
        let before = reader.diagnostics.count
        let fields = reader.fields(of: node, named: "an uplink", allowed: uplinkKeys)
        if node.mapping == nil {
            draft.valid = false
            return draft
        }

        if let (_, value) = fields["name"],
            let name = reader.string(value, key: "name", what: "a name of 1 to 15 letters, digits, '-' or '_'")
        {
            if let problem = nameProblem(name) {
                reader.error(value, problem)
            } else {
                draft.name = name
                draft.nameNode = value
            }
        } else if fields["name"] == nil {
            reader.error(
                node, "this uplink has no 'name'; give it a unique name of 1 to 15 letters, digits, '-' or '_'")
        }
        if let (_, value) = fields["interface"],
            let interface = reader.string(value, key: "interface", what: "a network interface name such as eth0")
        {
            if let problem = interfaceNameProblem(interface) {
                reader.error(value, problem)
            } else {
                draft.interface = interface
            }
        } else if fields["interface"] == nil {
            reader.error(node, "this uplink has no 'interface'; name the network interface it leaves by, such as eth0")
        }
        readAddressing(fields, into: &draft, reader: &reader)
        if let (_, value) = fields["weight"],
            let weight = reader.integer(
                value, key: "weight", in: 1...maximumWeight, what: "a whole number from 1 to \(maximumWeight)")
        {
            draft.weight = Int(weight)
            draft.weightNode = value
        }
        let markWhat =
            markMask.map {
                "a non-zero mark inside mark-mask \(hex($0)), such as \(hex(depositBits(1, into: $0) ?? $0))"
            }
            ?? "a non-zero 32-bit mark such as 0x100"
        if let (_, value) = fields["mark"],
            let mark = reader.integer(value, key: "mark", in: 1...0xffff_ffff, what: markWhat)
        {
            draft.mark = (UInt32(mark), value)
        }
        if let (_, value) = fields["table"], let table = readTable(value, key: "table", reader: &reader) {
            draft.table = (table, value)
        }
        if let (_, value) = fields["masquerade"], let masquerade = reader.boolean(value, key: "masquerade") {
            draft.masquerade = masquerade
        }
        readUplinkMptcp(fields, mptcp: mptcp, into: &draft, reader: &reader)
        draft.health = health
        if let (_, value) = fields["health"], let check = readUplinkHealth(value, defaults: health, reader: &reader) {
            draft.health = check
            // Targets given to this uplink must be of a family it carries; the defaults' are
            // filtered instead (a dual-stack default list serves IPv4-only uplinks too).
            if let families = draft.families, let check, let own = value.mapping?["targets"] {
                for target in check.targets where !families.contains(target.family) {
                    reader.error(
                        own,
                        "health target \(target) is \(familyName(target.family)), and this uplink "
                            + "carries only \(families.map(familyName).joined(separator: " and ")); "
                            + "probe it with a target of a family it carries"
                    )
                }
            }
        }
        draft.valid = reader.diagnostics.count == before
        return draft
    }

    /// Checks what must be unique across uplinks and derives the default marks and tables.
    /// Without a usable `markMask` (an invalid one was reported), marks are only checked for duplicates.
    /// With `ecmp`, the multipath route's mark and table come after the uplinks' in the same way.
    private static func resolveUplinks(
        _ drafts: [UplinkDraft], markMask: UInt32?, ecmp: EcmpRequest?,
        reader: inout YAMLReader
    ) -> (uplinks: [Uplink], ecmp: EcmpTarget?)? {
        let complete = drafts.compactMap(\.complete)
        var ok = complete.count == drafts.count
        var names: [String: Node] = [:]
        var marks: [UInt32: Node] = [:]
        var tables: [UInt32: Node] = [:]
        for draft in drafts {
            if let name = draft.name, let node = draft.nameNode {
                if let first = names[name] {
                    reader.error(
                        node,
                        "uplink name '\(name)' is used twice (first at line "
                            + "\(reader.location(of: first).line)); names must be unique"
                    )
                    ok = false
                } else {
                    names[name] = node
                }
            }
            if let (mark, node) = draft.mark {
                if let markMask, mark & ~markMask != 0 {
                    reader.error(
                        node,
                        "mark \(shown(mark, node)) has bits outside mark-mask \(hex(markMask)); "
                            + "uplinkctl only sets bits of its mask, so the mark must lie inside "
                            + "it (for example \(hex(depositBits(1, into: markMask) ?? markMask)))"
                    )
                    ok = false
                } else if let markMask, mark == markMask {
                    reader.error(
                        node,
                        "mark \(shown(mark, node)) is every bit of mark-mask \(hex(markMask)), "
                            + "the value uplinkctl gives connections it leaves alone (their route "
                            + "does not leave by an uplink); choose another mark inside the mask"
                    )
                    ok = false
                } else if let first = marks[mark] {
                    reader.error(
                        node,
                        "mark \(shown(mark, node)) is used by two uplinks (first at line "
                            + "\(reader.location(of: first).line)); each uplink needs its own mark"
                    )
                    ok = false
                } else {
                    marks[mark] = node
                }
            }
            if let (table, node) = draft.table {
                if let first = tables[table] {
                    reader.error(
                        node,
                        "table \(table) is used by two uplinks (first at line "
                            + "\(reader.location(of: first).line)); each uplink needs its own table"
                    )
                    ok = false
                } else {
                    tables[table] = node
                }
            }
        }
        if let (table, node) = ecmp?.table {
            if let first = tables[table] {
                reader.error(
                    node,
                    "table \(table) is already the table of an uplink (line "
                        + "\(reader.location(of: first).line)); the ECMP route needs a table of its own"
                )
                ok = false
            } else {
                tables[table] = node
            }
        }
        guard ok, let markMask else { return nil }

        // Defaults follow the slot: the n-th value that fits the mask, table 110 + slot;
        // values taken explicitly by other uplinks are skipped.
        var uplinks: [Uplink] = []
        var nextMarkIndex: UInt32 = 1
        var nextTable = firstDerivedTable
        // Every bit of the mask marks the connections left alone: never an uplink's.
        marks[markMask] = drafts.first?.node
        let room = (1 << markMask.nonzeroBitCount) - 2
        let full = "mark-mask \(hex(markMask)) has room for only \(room) mark\(room == 1 ? "" : "s")"
        let widen = "widen the mask (the default 0xff00 holds 254)"
        // The next mark (table) in the derived order that nothing has taken, then taken by `node`.
        func freeMark(for node: Node) -> UInt32? {
            while let candidate = depositBits(nextMarkIndex, into: markMask), candidate != 0 {
                nextMarkIndex += 1
                if marks[candidate] == nil {
                    marks[candidate] = node
                    return candidate
                }
            }
            return nil
        }
        func freeTable(for node: Node) -> UInt32 {
            while tables[nextTable] != nil || reservedTables.contains(nextTable) { nextTable += 1 }
            tables[nextTable] = node
            return nextTable
        }
        for (slot, uplink) in complete.enumerated() {
            let draft = uplink.draft
            guard let mark = draft.mark?.value ?? freeMark(for: draft.node) else {
                reader.error(
                    draft.node,
                    "no mark left for uplink \(slot + 1): \(full) and there are \(drafts.count) uplinks; \(widen)")
                return nil
            }
            uplinks.append(uplink.uplink(mark: mark, table: draft.table?.value ?? freeTable(for: draft.node)))
        }
        guard let ecmp else { return (uplinks, nil) }
        guard let ecmpMark = freeMark(for: ecmp.balanceNode) else {
            let take = "\(drafts.count) uplink\(drafts.count == 1 ? "" : "s") take \(drafts.count == 1 ? "it" : "them")"
            reader.error(ecmp.balanceNode, "no mark left for the ECMP route: \(full) and \(take); \(widen)")
            return nil
        }
        return (uplinks, EcmpTarget(mark: ecmpMark, table: ecmp.table?.value ?? freeTable(for: ecmp.balanceNode)))
    }

    /// Why `name` cannot name an uplink, or nil if it can.
    static func nameProblem(_ name: String, of what: String = "uplink") -> String? {
        let allowed = "use only letters, digits, '-' or '_', at most 15 of them"
        if name.isEmpty { return "an \(what) name cannot be empty; \(allowed)" }
        if let bad = name.unicodeScalars.first(where: { !isNameScalar($0) }) {
            return "\(what) name '\(name)' contains \(bad == " " ? "a space" : "'\(bad)'"); \(allowed)"
        }
        if name.count > 15 { return "\(what) name '\(name)' is \(name.count) characters long; \(allowed)" }
        if what != "uplink" { return nil }
        // It names the multipath target's chains and counter (via-ecmp, new-ecmp, conns-ecmp).
        if name == "ecmp" {
            return "uplink name 'ecmp' is reserved for the multipath route of 'balance: ecmp'; choose another name"
        }
        return nil
    }

    /// A number as the file wrote it, followed by its hex form when that differs: `10 (0xa)`.
    private static func shown(_ value: UInt32, _ node: Node) -> String {
        let written = node.scalar?.string ?? hex(value)
        return written.lowercased() == hex(value) ? written : "\(written) (\(hex(value)))"
    }

    private static func isNameScalar(_ scalar: Unicode.Scalar) -> Bool {
        scalar.isASCII
            && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || scalar == "-" || scalar == "_")
    }

    private static func syntaxDiagnostic(_ error: Error, text: String, reader: YAMLReader) -> ConfigDiagnostic {
        func at(_ mark: Mark) -> SourceLocation { reader.location((mark.line, mark.column)) }
        switch error as? YamlError {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            // libyaml's context says what it was reading, which often shows where the indentation went wrong;
            // some problems ("but found ...") finish a sentence the context begins ("expected ...").
            let message: String
            switch context {
            case .some(let context) where problem.hasPrefix("but "): message = "\(context.text), \(problem)"
            case .some(let context):
                message = "\(problem) \(context.text) that starts at line \(at(context.mark).line)"
            case .none: message = problem
            }
            return ConfigDiagnostic(at: at(mark), "not valid YAML: \(message)")
        case .duplicatedKeysInMapping(let duplicates, let context):
            let keys = duplicates.map { "'\($0)'" }.joined(separator: ", ")
            // Yams marks the first occurrence; point at the repetition, which is the line to change.
            if let key = duplicates.first, let again = repetition(of: key, after: context.mark, in: text) {
                return ConfigDiagnostic(
                    at: reader.location(again),
                    "key \(keys) is given again in the same mapping (first at "
                        + "line \(context.mark.line)); each key may be given once"
                )
            }
            return ConfigDiagnostic(
                at: at(context.mark),
                "key \(keys) is given more than once in the same mapping; each key may be given once")
        default:
            return ConfigDiagnostic(at: reader.location((1, 1)), "not valid YAML: \(error)")
        }
    }

    /// Where block-style `key:` comes again at the indentation of its first occurrence, before that mapping ends.
    private static func repetition(of key: String, after first: Mark, in text: String) -> (line: Int, column: Int)? {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        for (index, line) in lines.enumerated().dropFirst(first.line) {
            let indent = line.prefix { $0 == " " }.count
            let rest = line.dropFirst(indent)
            if rest.isEmpty || rest.hasPrefix("#") { continue }
            if indent < first.column - 1 { return nil }
            if indent == first.column - 1, rest.hasPrefix(key),
                rest.dropFirst(key.count).drop(while: { $0 == " " }).hasPrefix(":")
            {
                return (index + 1, indent + 1)
            }
        }
        return nil
    }
}
