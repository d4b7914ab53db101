/// The nft batch that turns our live table into the desired one, touching only what differs:
/// rules are compared by the exact expressions the kernel runs, elements one by one, and a
/// set, map or chain is replaced only when its definition itself changed.
public enum NftDiff {
    public static func changes(from live: LiveNftTable?, to desired: NftTable?) -> [NftChange] {
        switch (live, desired) {
        case (nil, nil): return []
        case (.some, nil): return [.deleteTable]
        case (nil, let desired?): return creation(of: desired)
        case (let live?, let desired?): return update(live, to: desired)
        }
    }

    /// Replaces whatever our table holds now (if it `exists`) with `table` (nil: no table).
    /// `order`: the names of its sets and maps as the kernel listed them, which an update may
    /// have interleaved; they are created in that order, so that the table lists as it did.
    public static func restoration(of table: NftTable?, order: [String] = [], replacing exists: Bool) -> [NftChange] {
        (exists ? [.deleteTable] : []) + (table.map { recreation(of: $0, order: order) } ?? [])
    }

    /// As `creation`, with the sets and maps in `order` (the others after them, sets first).
    static func recreation(of table: NftTable, order: [String]) -> [NftChange] {
        let rank = Dictionary(order.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
        let named =
            table.sets.map { ($0.name, NftChange.addSet($0)) }
            + table.maps.map { ($0.name, NftChange.addMap($0)) }
        let ordered = named.enumerated().sorted { a, b in
            (rank[a.element.0] ?? Int.max, a.offset) < (rank[b.element.0] ?? Int.max, b.offset)
        }.map(\.element.1)
        // nft's own order for a table (its batch is the encoding tests' golden): chains first,
        // before the maps whose elements jump to them, then counters, sets, maps, and rules.
        return [.addTable] + table.chains.map { .addChain(name: $0.name, hook: $0.hook) }
            + table.counters.map(NftChange.addCounter) + ordered
            + table.chains.flatMap { chain in chain.rules.map { .addRule(chain: chain.name, rule: $0, before: nil) } }
    }

    static func creation(of table: NftTable) -> [NftChange] {
        recreation(of: table, order: [])
    }

    static func update(_ live: LiveNftTable, to desired: NftTable) -> [NftChange] {
        var deletions: [NftChange] = []
        var additions: [NftChange] = []

        // Sets and maps: replaced when missing, unreadable or of another kind; otherwise their elements are diffed.
        var replaced = Set(live.unreadableSets)
        for set in desired.sets {
            guard let current = live.sets.first(where: { $0.name == set.name }), current.type == set.type else {
                if live.sets.contains(where: { $0.name == set.name }) { replaced.insert(set.name) }
                additions.append(.addSet(set))
                continue
            }
            deletions += elementChanges(current, set).deletions
            additions += elementChanges(current, set).additions
        }
        for map in desired.maps {
            guard let current = live.maps.first(where: { $0.name == map.name }), current.typeof == map.typeof else {
                if live.maps.contains(where: { $0.name == map.name }) { replaced.insert(map.name) }
                additions.append(.addMap(map))
                continue
            }
            let gone = current.elements.filter { !map.elements.contains($0) }
            let new = map.elements.filter { !current.elements.contains($0) }
            if !gone.isEmpty {
                deletions.append(.deleteMapElements(NftVerdictMap(name: map.name, typeof: map.typeof, elements: gone)))
            }
            if !new.isEmpty {
                additions.append(.addMapElements(NftVerdictMap(name: map.name, typeof: map.typeof, elements: new)))
            }
        }
        let wantedSetNames = Set(desired.sets.map(\.name) + desired.maps.map(\.name))
        let liveSetNames = live.sets.map(\.name) + live.maps.map(\.name) + live.unreadableSets
        let setsToDelete = liveSetNames.filter { !wantedSetNames.contains($0) || replaced.contains($0) }

        // Chains: a base chain whose hook changed is replaced with all its rules.
        var chainsToDelete: [String] = []
        var ruleDeletions: [NftChange] = []
        var ruleAdditions: [NftChange] = []
        var chainAdditions: [NftChange] = []
        for chain in live.chains
        where desired.chain(named: chain.name).map({ $0.hook != chain.hook || !chain.hookReadable }) ?? true {
            chainsToDelete.append(chain.name)
            ruleDeletions += chain.rules.map { .deleteRule(chain: chain.name, handle: $0.handle, text: $0.text) }
        }
        for chain in desired.chains {
            let kept = live.chain(named: chain.name).flatMap { chainsToDelete.contains($0.name) ? nil : $0 }
            guard let kept else {
                chainAdditions.append(.addChain(name: chain.name, hook: chain.hook))
                ruleAdditions += chain.rules.map { .addRule(chain: chain.name, rule: $0, before: nil) }
                continue
            }
            let (gone, new) = ruleChanges(kept, chain, replacedSets: replaced)
            ruleDeletions += gone
            ruleAdditions += new
        }

        let countersToDelete = live.counters.filter { !desired.counters.contains($0) }
        let countersToAdd = desired.counters.filter { !live.counters.contains($0) }

        // References first: rules, then elements, then what they pointed at.
        // Maps go before chains: their elements jump to them.
        return ruleDeletions + deletions
            + setsToDelete.map { name in live.maps.contains { $0.name == name } ? .deleteMap(name) : .deleteSet(name) }
            + chainsToDelete.map(NftChange.deleteChain) + countersToDelete.map(NftChange.deleteCounter)
            + countersToAdd.map(NftChange.addCounter) + chainAdditions + additions.filter(isDefinition)
            + additions.filter { !isDefinition($0) } + ruleAdditions
    }

    static func isDefinition(_ change: NftChange) -> Bool {
        switch change {
        case .addSet, .addMap: return true
        default: return false
        }
    }

    /// Interval sets are rewritten whole: their ranges may merge, so elements do not map one to one.
    static func elementChanges(_ live: NftSet, _ desired: NftSet) -> (deletions: [NftChange], additions: [NftChange]) {
        guard live.elements != desired.elements else { return ([], []) }
        return ([.flushSet(desired.name)], desired.elements.isEmpty ? [] : [.addSetElements(desired)])
    }

    /// Keeps the longest common head and tail of the chain; the middle is deleted and the
    /// desired middle inserted in front of the kept tail (or appended).
    static func ruleChanges(_ live: LiveNftChain, _ desired: NftChain, replacedSets: Set<String>) -> (
        deletions: [NftChange], additions: [NftChange]
    ) {
        let wanted = desired.rules.map(NftRuleEncoding.expressions)
        func keepable(_ index: Int, _ target: Int) -> Bool {
            let rule = live.rules[index]
            return rule.expressions == wanted[target]
                && !rule.expressions.contains { expression in
                    if case .lookup(let set, _, _) = expression { return replacedSets.contains(set) }
                    return false
                }
        }
        var head = 0
        while head < live.rules.count, head < wanted.count, keepable(head, head) { head += 1 }
        var tail = 0
        while tail < live.rules.count - head, tail < wanted.count - head,
            keepable(live.rules.count - 1 - tail, wanted.count - 1 - tail)
        { tail += 1 }
        let gone = live.rules[head..<(live.rules.count - tail)]
        let new = desired.rules[head..<(wanted.count - tail)]
        let before = tail > 0 ? live.rules[live.rules.count - tail].handle : nil
        return (
            gone.map { .deleteRule(chain: live.name, handle: $0.handle, text: $0.text) },
            new.map { .addRule(chain: desired.name, rule: $0, before: before) }
        )
    }
}
