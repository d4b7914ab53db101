import UplinkCore

/// Our ip rules in the kernel's order, as dumped. The kernel adds a rule after every other of
/// its priority, so a rule an undo puts back lands last: the rules of ours that followed it are
/// then moved behind it again (deleted and re-added as dumped), and the listing is as it was.
/// Other programs' rules of that priority are never moved.
public struct RuleOrder: Sendable {
    struct Entry: Sendable {
        /// Nil for a rule of a kind uplinkctl does not write.
        let rule: RoutingRule?
        let dumped: UnknownRule
    }

    let entries: [Entry]

    /// The rules of ours after `rule` in the order, of its family and priority.
    func followers(of rule: RoutingRule) -> [UnknownRule] { followers { $0.rule == rule } }

    func followers(of rule: UnknownRule) -> [UnknownRule] { followers { $0.dumped.message == rule.message } }

    private func followers(_ matching: (Entry) -> Bool) -> [UnknownRule] {
        guard let index = entries.firstIndex(where: matching) else { return [] }
        let found = entries[index].dumped
        return entries[(index + 1)...].map(\.dumped).filter {
            $0.family == found.family && $0.priority == found.priority
        }
    }
}
