import Yams

/// The checks of `policies:` that need the uplinks, the top-level settings or the other entries.
extension ConfigParser {
    static func checkPolicies(_ drafts: [PolicyDraft], context: PolicyContext, reader: inout YAMLReader) {
        for draft in drafts {
            checkUplinkNames(draft, context: context, reader: &reader)
            checkFamilies(draft, context: context, reader: &reader)
            if context.balance == .ecmp, case .balance = draft.action, let key = draft.fields["balance"]?.key {
                reader.error(
                    key,
                    "a policy entry cannot 'balance' over some uplinks with 'balance: ecmp': "
                        + "the kernel's multipath route spreads over all of them; use 'uplink: "
                        + "NAME' here, or set the top-level 'balance' to nth, random or hash"
                )
            }
            if context.traffic == [.local], let key = draft.fields["in-interface"]?.key {
                reader.warning(
                    key,
                    "'in-interface' matches forwarded connections only, and 'traffic' is "
                        + "[local]: local connections have no incoming interface, so this "
                        + "entry never matches; add 'forwarded' to 'traffic' or drop the entry"
                )
            }
        }
        checkShadowing(drafts, reader: &reader)
    }

    private static func checkUplinkNames(_ draft: PolicyDraft, context: PolicyContext, reader: inout YAMLReader) {
        guard let uplinks = context.uplinks?.map(\.name) else { return }
        for (name, node) in draft.uplinkNodes where !uplinks.contains(name) {
            let hint = closestMatch(to: name, among: uplinks).map { " (did you mean '\($0)'?)" } ?? ""
            reader.error(node, "no uplink is named '\(name)'\(hint); the uplinks are \(quotedList(uplinks, "and"))")
        }
    }

    /// A pinned or balanced entry whose uplinks carry none of the families it matches is an error;
    /// one that leaves a family other uplinks carry to the main table gets a warning.
    private static func checkFamilies(_ draft: PolicyDraft, context: PolicyContext, reader: inout YAMLReader) {
        guard draft.matchRead else { return }
        let matched = PolicyCoverage.families(draft.match)
        guard !matched.isEmpty else { return }
        let members: [String]
        let node: Node
        switch draft.action {
        case .uplink(let name):
            guard let value = draft.fields["uplink"]?.value else { return }
            (members, node) = ([name], value)
        case .balance(let shares):
            guard let key = draft.fields["balance"]?.key else { return }
            (members, node) = (shares.map(\.uplink), key)
        case .bypass, nil:
            return
        }
        let memberFamilies = members.compactMap(context.families(of:))
        guard memberFamilies.count == members.count else { return }
        let carried = Set(memberFamilies.joined())
        let single = members.count == 1
        let names = single ? "'\(members[0])'" : quotedList(members, "and")
        if carried.isDisjoint(with: matched) {
            let has = single ? "uplink \(names) carries only" : "\(names) carry only"
            let wanted = matched.map(familyName).joined(separator: " and ")
            reader.error(
                node,
                "\(has) \(carried.sorted().map(familyName).joined(separator: " and ")), and this entry matches "
                    + "only \(wanted) connections, so it can never send them there; name an uplink with "
                    + "\(wanted), or give \(single ? names : "one of them") an \(wanted) gateway or 'family'"
            )
            return
        }
        for family in matched where !carried.contains(family) && context.configuredFamilies.contains(family) {
            let name = familyName(family)
            let fix =
                single
                ? "give \(names) an \(name) gateway or add 'family'"
                : "none of \(names) carries \(name): give one of them an \(name) gateway or add 'family'"
            reader.warning(node, "\(name) connections this entry matches are left to the main table; \(fix)")
        }
    }

    /// Warns about each entry an earlier one already catches entirely, family by family.
    private static func checkShadowing(_ drafts: [PolicyDraft], reader: inout YAMLReader) {
        let readable = drafts.filter(\.matchRead)
        for (draft, covering) in zip(readable, PolicyCoverage.shadowing(readable.map(\.match))) {
            guard let covering else { continue }
            let lines = covering.sorted { $0.key < $1.key }.map { (family: $0.key, line: readable[$0.value].line) }
            let by: String
            if Set(lines.map(\.line)).count == 1 {
                by = "the entry at line \(lines[0].line) already catches every connection it would"
            } else {
                by =
                    "the entries at lines "
                    + lines.map { "\($0.line) (\(familyName($0.family)))" }.joined(separator: " and ")
                    + " already catch every connection it would"
            }
            reader.warning(
                draft.node, "this policy entry can never match: \(by) (first match wins); move it above, or remove it")
        }
    }
}
