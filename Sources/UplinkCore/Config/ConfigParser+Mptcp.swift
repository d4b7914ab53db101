import Yams

/// The top-level `mptcp`, `mptcp-limits` and `mptcp-announce` keys, and each uplink's `mptcp`.
extension ConfigParser {
    static let mptcpKeys = ["mptcp", "mptcp-limits", "mptcp-announce"]
    static let mptcpLimitKeys = ["subflows", "add-addr-accepted"]

    /// Nil settings: MPTCP left alone. `usable` false: an error was reported.
    static func readMptcp(_ fields: [String: (key: Node, value: Node)], reader: inout YAMLReader)
        -> (settings: MptcpSettings?, usable: Bool)
    {
        let before = reader.errorCount
        // nil while unknown (an invalid value was reported): the keys that need it are not blamed.
        var enabled: Bool? = false
        if let (_, value) = fields["mptcp"] { enabled = reader.boolean(value, key: "mptcp") }
        var settings = MptcpSettings()
        if let (key, value) = fields["mptcp-announce"], let announce = reader.boolean(value, key: "mptcp-announce") {
            if enabled == false { reader.error(key, "'mptcp-announce' needs 'mptcp: true' at the top level") }
            settings.announce = announce
        }
        if let (key, value) = fields["mptcp-limits"] {
            if enabled == false { reader.error(key, "'mptcp-limits' needs 'mptcp: true' at the top level") }
            readMptcpLimits(value, into: &settings, reader: &reader)
        }
        return (enabled == true ? settings : nil, reader.errorCount == before)
    }

    /// The limits given; one left out keeps its default (nil), filled in once the uplinks are known.
    private static func readMptcpLimits(_ node: Node, into settings: inout MptcpSettings, reader: inout YAMLReader) {
        let fields = reader.fields(of: node, named: "'mptcp-limits'", allowed: mptcpLimitKeys)
        guard let mapping = node.mapping else { return }
        if mapping.isEmpty {
            reader.error(node, "'mptcp-limits' sets nothing; give 'subflows', 'add-addr-accepted' or both")
        }
        let what = "a whole number from 0 to \(MptcpLimits.maximum), the kernel's limit"
        func limit(_ key: String) -> UInt32? {
            guard let (_, value) = fields[key] else { return nil }
            return reader.integer(value, key: key, in: 0...UInt64(MptcpLimits.maximum), what: what).map { UInt32($0) }
        }
        settings.subflows = limit("subflows")
        settings.addAddrAccepted = limit("add-addr-accepted")
    }

    /// An uplink's `mptcp: false` (no subflows over it); true needs MPTCP at the top level.
    static func readUplinkMptcp(
        _ fields: [String: (key: Node, value: Node)], mptcp: Bool,
        into draft: inout UplinkDraft, reader: inout YAMLReader
    ) {
        guard let (key, value) = fields["mptcp"], let on = reader.boolean(value, key: "mptcp") else { return }
        if !mptcp {
            reader.error(
                key,
                "an uplink's 'mptcp' needs 'mptcp: true' at the top level "
                    + "(uplinks carry subflows by default then)")
        }
        draft.mptcp = on
    }

    /// Warns when MPTCP cannot open a second subflow.
    static func checkMptcp(_ settings: MptcpSettings?, drafts: [UplinkDraft], node: Node?, reader: inout YAMLReader) {
        guard settings != nil, let node else { return }
        let carrying = drafts.filter(\.mptcp).count
        if carrying < 2 {
            reader.warning(
                node,
                "with \(carrying) uplink\(carrying == 1 ? "" : "s") carrying subflows, "
                    + "an MPTCP connection "
                    + "has nowhere to open a second one; leave 'mptcp: false' off at least two uplinks")
        }
    }
}
