/// One change to our nft table, in the order a batch must make them. Every change has one nft
/// command form (what diff prints) and one netlink message (what apply sends).
public enum NftChange: Sendable, Hashable {
    case addTable
    case deleteTable
    case addCounter(String)
    case deleteCounter(String)
    /// A set with its elements.
    case addSet(NftSet)
    case deleteSet(String)
    case addSetElements(NftSet)
    /// Removes every element (interval sets are rewritten whole: their ranges may merge).
    case flushSet(String)
    case addMap(NftVerdictMap)
    case deleteMap(String)
    case addMapElements(NftVerdictMap)
    case deleteMapElements(NftVerdictMap)
    /// A chain without its rules.
    case addChain(name: String, hook: NftHook?)
    case deleteChain(String)
    /// Appended, or inserted in front of the rule with handle `before`.
    case addRule(chain: String, rule: NftRule, before: UInt64?)
    case deleteRule(chain: String, handle: UInt64, text: String)

    /// The nft(8) command that makes the same change.
    public var command: String {
        let table = "inet \(Ownership.nftTableName)"
        switch self {
        case .addTable: return "nft add table \(table)"
        case .deleteTable: return "nft delete table \(table)"
        case .addCounter(let name): return "nft add counter \(table) \(name)"
        case .deleteCounter(let name): return "nft delete counter \(table) \(name)"
        case .addSet(let set): return "nft add set \(table) \(set.name) { \(Self.oneLine(NftText.set(set))) }"
        case .deleteSet(let name): return "nft delete set \(table) \(name)"
        case .deleteMap(let name): return "nft delete map \(table) \(name)"
        case .addSetElements(let set):
            return
                "nft add element \(table) \(set.name) { \(set.elements.map(NftText.element).joined(separator: ", ")) }"
        case .flushSet(let name): return "nft flush set \(table) \(name)"
        case .addMap(let map): return "nft add map \(table) \(map.name) { \(Self.oneLine(NftText.map(map))) }"
        case .addMapElements(let map): return "nft add element \(table) \(map.name) { \(NftText.mapElements(map)) }"
        case .deleteMapElements(let map):
            return "nft delete element \(table) \(map.name) { \(NftText.mapElements(map)) }"
        case .addChain(let name, let hook):
            guard let hook else { return "nft add chain \(table) \(name)" }
            return "nft add chain \(table) \(name) { \(NftText.hookLine(hook)) }"
        case .deleteChain(let name): return "nft delete chain \(table) \(name)"
        case .addRule(let chain, let rule, let before):
            if let before { return "nft insert rule \(table) \(chain) position \(before) \(NftText.rule(rule))" }
            return "nft add rule \(table) \(chain) \(NftText.rule(rule))"
        case .deleteRule(let chain, let handle, let text):
            return "nft delete rule \(table) \(chain) handle \(handle) # \(text)"
        }
    }

    /// The body of a set or map block on one line: `type ipv4_addr; flags interval; elements = { … }`.
    static func oneLine(_ block: String) -> String {
        block.split(separator: "\n").dropFirst().dropLast().map(unindented).joined(separator: "; ")
    }

    /// A line of NftText without its indentation: spaces and tabs (its lines are ASCII; a
    /// CharacterSet trim took a tenth of an apply's time at 32 uplinks).
    private static func unindented(_ line: Substring) -> Substring {
        var line = line.drop { $0 == " " || $0 == "\t" }
        while line.last == " " || line.last == "\t" { line = line.dropLast() }
        return line
    }

    public var isAddition: Bool {
        switch self {
        case .addTable, .addCounter, .addSet, .addSetElements, .addMap, .addMapElements, .addChain, .addRule:
            return true
        case .deleteTable, .deleteCounter, .deleteSet, .flushSet, .deleteMap, .deleteMapElements, .deleteChain,
            .deleteRule:
            return false
        }
    }
}
