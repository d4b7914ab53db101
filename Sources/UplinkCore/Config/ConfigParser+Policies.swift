import Yams

/// Reading `policies:`, one entry at a time; what needs the uplinks or the other entries is
/// checked afterwards (ConfigParser+PolicyChecks.swift).
extension ConfigParser {
    static let policyMatchKeys = [
        "destination", "source", "protocol", "destination-port", "source-port", "in-interface"
    ]
    static let policyActionKeys = ["uplink", "bypass", "balance"]
    static let policyOtherKeys = ["fallback"]
    static let actionChoices = "'uplink: NAME', 'bypass: true' or 'balance: {NAME: WEIGHT, ...}'"

    /// An entry as read, with the nodes later checks point at.
    struct PolicyDraft {
        var node: Node
        var line: Int
        var fields: [String: (key: Node, value: Node)] = [:]
        var match = PolicyMatch()
        /// Every match value was read: the match is exactly what the entry says.
        var matchRead = false
        var action: PolicyAction?
        var fallback = PolicyFallback.balance
        /// The nodes naming uplinks, in `uplink:`, as keys of `balance:` or in `fallback:`.
        var uplinkNodes: [(name: String, node: Node)] = []
    }

    /// The entries, or nil when any of them is invalid (everything wrong was reported).
    static func readPolicies(_ node: Node, context: PolicyContext, reader: inout YAMLReader) -> [Policy]? {
        guard let items = reader.sequence(node, key: "policies", example: "'- destination: 192.168.1.0/24'") else {
            return nil
        }
        let before = reader.errorCount
        let drafts = items.map { readPolicy($0, reader: &reader) }
        checkPolicies(drafts, context: context, reader: &reader)
        let policies = drafts.compactMap { draft in
            draft.action.map { Policy(line: draft.line, match: draft.match, action: $0, fallback: draft.fallback) }
        }
        // An entry without an action was reported.
        guard reader.errorCount == before, policies.count == drafts.count else { return nil }
        return policies
    }

    private static func readPolicy(_ node: Node, reader: inout YAMLReader) -> PolicyDraft {
        var draft = PolicyDraft(node: node, line: reader.location(of: node.mapping?.keys.first ?? node).line)
        // An unknown key may be a misspelt match key: then the match is not what the entry meant.
        let before = reader.errorCount
        draft.fields = reader.fields(
            of: node, named: "a policy entry", allowed: policyMatchKeys + policyActionKeys + policyOtherKeys)
        guard node.mapping != nil else { return draft }
        readMatch(&draft, reader: &reader)
        draft.matchRead = reader.errorCount == before
        if draft.matchRead { checkMatchCanHappen(draft, reader: &reader) }
        readAction(&draft, reader: &reader)
        readFallback(&draft, reader: &reader)
        return draft
    }

    /// `fallback: NAME`, `balance` (the default) or `none`; only where the entry names uplinks.
    private static func readFallback(_ draft: inout PolicyDraft, reader: inout YAMLReader) {
        guard let (key, value) = draft.fields["fallback"] else { return }
        if draft.action == .bypass {
            reader.error(
                key,
                "'fallback' says where the connections of an 'uplink' or 'balance' entry go "
                    + "while its uplinks are down; a 'bypass' entry uses no uplink, so drop it"
            )
            return
        }
        guard let text = reader.string(value, key: "fallback", what: "an uplink's name, 'balance' or 'none'") else {
            return
        }
        switch text {
        case "balance": draft.fallback = .balance
        case "none": draft.fallback = .none
        default:
            draft.fallback = .uplink(text)
            draft.uplinkNodes.append((text, value))
        }
    }

    // MARK: Match

    private static func readMatch(_ draft: inout PolicyDraft, reader: inout YAMLReader) {
        let fields = draft.fields
        let addressWhat = "an address or prefix such as 198.18.0.0/15 or 2001:2::/48"
        draft.match.destinations = list(
            fields["destination"]?.value, key: "destination", what: addressWhat, reader: &reader
        ) {
            $0.prefix($1, key: "destination")
        }.map(\.value)
        draft.match.sources = list(fields["source"]?.value, key: "source", what: addressWhat, reader: &reader) {
            $0.prefix($1, key: "source")
        }.map(\.value)
        let protocols = list(
            fields["protocol"]?.value, key: "protocol", what: "'tcp', 'udp', 'icmp', 'icmpv6' or a protocol number",
            reader: &reader
        ) {
            $0.protocolNumber($1, key: "protocol")
        }
        draft.match.protocols = protocols.map(\.value)
        let portWhat = "a port from 1 to 65535 or a range such as 8000-8080"
        draft.match.destinationPorts = list(
            fields["destination-port"]?.value, key: "destination-port", what: portWhat, reader: &reader
        ) {
            $0.portRange($1, key: "destination-port")
        }.map(\.value)
        draft.match.sourcePorts = list(
            fields["source-port"]?.value, key: "source-port", what: portWhat, reader: &reader
        ) {
            $0.portRange($1, key: "source-port")
        }.map(\.value)
        draft.match.inputInterfaces = list(
            fields["in-interface"]?.value, key: "in-interface", what: "an interface name such as lan0", reader: &reader
        ) {
            guard let name = $0.string($1, key: "in-interface", what: "an interface name such as lan0") else {
                return nil
            }
            if let problem = interfaceNameProblem(name) {
                $0.error($1, problem)
                return nil
            }
            return name
        }.map(\.value)

        // Ports exist in tcp and udp only; the key that needs them is named in the message.
        guard
            let portKey = ["destination-port", "source-port"].first(where: { fields[$0] != nil }).flatMap({ fields[$0] }
            )
        else { return }
        let portName = portKey.key.scalar?.string ?? "destination-port"
        if fields["protocol"] == nil {
            reader.error(
                portKey.key,
                "'\(portName)' needs 'protocol: tcp', 'protocol: udp' or "
                    + "both: ports exist only in tcp and udp; add the protocol"
            )
        }
        for (number, node) in protocols where number != IPProtocolNumber.tcp && number != IPProtocolNumber.udp {
            reader.error(
                node,
                "protocol '\(node.scalar?.string ?? String(number))' has no ports, and this entry gives '\(portName)'; "
                    + "ports go with 'tcp' and 'udp' only: put this protocol in an entry of its own without ports"
            )
        }
    }

    /// The values of a key written as one value or a list, each read by `read`; empty when the key is absent.
    private static func list<T>(
        _ node: Node?, key: String, what: String, reader: inout YAMLReader,
        _ read: (inout YAMLReader, Node) -> T?
    ) -> [(value: T, node: Node)] {
        guard let node, let items = reader.scalarOrList(node, key: key, what: what) else { return [] }
        return items.compactMap { item in read(&reader, item).map { ($0, item) } }
    }

    /// An entry no connection can satisfy is an error: it is certainly not what was meant.
    private static func checkMatchCanHappen(_ draft: PolicyDraft, reader: inout YAMLReader) {
        let match = draft.match
        guard PolicyCoverage.families(match).isEmpty else { return }
        let addressFamilies = IPFamily.allCases.filter { family in
            [match.sources, match.destinations].allSatisfy { $0.isEmpty || $0.contains { $0.family == family } }
        }
        if addressFamilies.isEmpty, let destination = draft.fields["destination"] {
            let only = { (prefixes: [IPPrefix]) in prefixes.first.map { familyName($0.family) } ?? "" }
            reader.error(
                destination.value,
                "'destination' holds only \(only(match.destinations)) addresses and 'source' only "
                    + "\(only(match.sources)); a connection is one or the other, so this entry can never match"
            )
        } else if let family = addressFamilies.first, let node = draft.fields["protocol"]?.value {
            // Every protocol given exists only in the other family (icmp with IPv6 addresses, or icmpv6 with IPv4).
            let names = match.protocols.map {
                IPProtocolNumber.name($0) == "ipv6-icmp" ? "icmpv6" : IPProtocolNumber.name($0) ?? String($0)
            }
            let other = family == .ipv4 ? IPFamily.ipv6 : .ipv4
            let instead = family == .ipv4 ? "icmp" : "icmpv6"
            let protocols = quotedList(names.uniqued(), "or")
            reader.error(
                node,
                "protocol \(protocols) exists only in \(familyName(other)), and this entry's addresses "
                    + "are all \(familyName(family)), so it can never match; use '\(instead)' for "
                    + "\(familyName(family))'s ICMP")
        }
    }

    // MARK: Action

    private static func readAction(_ draft: inout PolicyDraft, reader: inout YAMLReader) {
        // `bypass: false` is reported on its own and does not count as a second action.
        let given = policyActionKeys.compactMap { key in
            draft.fields[key].map { (name: key, key: $0.key, value: $0.value) }
        }
        .sorted { reader.location(of: $0.key) < reader.location(of: $1.key) }
        let counted = given.filter { !($0.name == "bypass" && $0.value.scalar?.string.lowercased() == "false") }
        var actions: [PolicyAction] = []
        for entry in given {
            if let first = counted.first, first.key != entry.key, counted.contains(where: { $0.key == entry.key }) {
                reader.error(
                    entry.key,
                    "this policy entry already has '\(first.name)' (line "
                        + "\(reader.location(of: first.key).line)); give exactly one of \(actionChoices)"
                )
            }
            switch entry.name {
            case "uplink":
                guard let name = reader.string(entry.value, key: "uplink", what: "the name of an uplink") else {
                    continue
                }
                draft.uplinkNodes.append((name, entry.value))
                actions.append(.uplink(name))
            case "bypass":
                guard let bypass = reader.boolean(entry.value, key: "bypass") else { continue }
                if bypass {
                    actions.append(.bypass)
                } else {
                    reader.error(
                        entry.value,
                        "'bypass' can only be true (the connections this entry matches "
                            + "are not balanced); drop it, or give 'uplink' or 'balance'"
                    )
                }
            default:
                if let shares = readShares(entry.value, draft: &draft, reader: &reader) {
                    actions.append(.balance(shares))
                }
            }
        }
        if given.isEmpty {
            reader.error(draft.node, "this policy entry has no action; give exactly one of \(actionChoices)")
        }
        if actions.count == 1 { draft.action = actions[0] }
    }

    /// `{NAME: WEIGHT, ...}`: the uplinks a `balance` entry spreads over, in the order written.
    private static func readShares(_ node: Node, draft: inout PolicyDraft, reader: inout YAMLReader) -> [PolicyShare]? {
        let example = "{wired: 3, wifi: 1}"
        guard case .mapping(let mapping) = node else {
            reader.error(
                node,
                "'balance' in a policy entry must be a mapping of uplink names to "
                    + "weights, such as \(example) (\(reader.kindName(node)) found)"
            )
            return nil
        }
        guard !mapping.isEmpty else {
            reader.error(
                node, "'balance' is empty; name the uplinks to balance over with their weights, such as \(example)")
            return nil
        }
        var shares: [PolicyShare] = []
        var ok = true
        for (key, value) in mapping {
            let what = "a mapping of uplink names to weights, such as \(example)"
            guard let name = reader.string(key, key: "balance", what: what) else {
                ok = false
                continue
            }
            draft.uplinkNodes.append((name, key))
            guard
                let weight = reader.integer(
                    value, key: name, in: 1...maximumWeight,
                    what: "a weight from 1 to \(maximumWeight)")
            else {
                ok = false
                continue
            }
            shares.append(PolicyShare(uplink: name, weight: Int(weight)))
        }
        return ok ? shares : nil
    }
}

extension YAMLReader {
    var errorCount: Int { diagnostics.count { $0.severity == .error } }
}
