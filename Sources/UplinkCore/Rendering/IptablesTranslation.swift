import Foundation

/// The iptables form of uplinkctl's nftables table: one iptables chain per nft chain (named
/// `UPL-` + the nft name), rule for rule, so the two behave alike connection for connection.
///
/// The places where the two languages differ:
/// - a set lookup becomes one rule per element;
/// - a verdict map becomes one rule per element (`-m connmark` for a conntrack-mark key);
/// - `numgen inc mod N` becomes N `-m statistic --mode nth --every N --packet k` rules, jumped
///   (`-j`, not `-g`) so that every new connection passes all N and their counters stay in step:
///   the k-th connection matches `--packet k mod N`, exactly as numgen's counter gives k mod N;
/// - `numgen random mod N` becomes cascaded `--mode random --probability` rules, one per uplink,
///   each w_i / (weights not yet passed);
/// - a named counter becomes a rule with no target, whose packet counter is the count;
/// - base chains become chains jumped to from the built-in chain of the same hook, last of all.
public struct IptablesTranslation {
    let table: NftTable

    public init(_ table: NftTable) { self.table = table }

    public static func chainName(_ nftChain: String) -> String { Ownership.iptablesChainPrefix + nftChain }

    /// Every command, in an order that works on a host without any of them.
    public func commands() -> [[String]] {
        let tables = iptablesTables()
        var commands: [[String]] = table.chains.map { iptables(tables[$0.name]!, "-N", Self.chainName($0.name)) }
        for chain in table.chains {
            commands += rules(of: chain).map { iptables(tables[chain.name]!, "-A", Self.chainName(chain.name)) + $0 }
        }
        for chain in table.chains {
            guard let hook = chain.hook else { continue }
            commands.append(iptables(tables[chain.name]!, "-A", hook.point.rawValue.uppercased(), "-j", Self.chainName(chain.name)))
        }
        return commands
    }

    private func iptables(_ table: String, _ arguments: String...) -> [String] { ["iptables", "-t", table] + arguments }

    /// Base chains by hook type (nat → nat, the rest → mangle); regular chains by their callers.
    private func iptablesTables() -> [String: String] {
        var result: [String: String] = [:]
        func visit(_ name: String, _ iptablesTable: String) {
            guard result[name] == nil, let chain = table.chain(named: name) else { return }
            result[name] = iptablesTable
            for target in chain.rules.flatMap(targets) { visit(target, iptablesTable) }
        }
        for chain in table.chains {
            if let hook = chain.hook { visit(chain.name, hook.type == .nat ? "nat" : "mangle") }
        }
        for chain in table.chains where result[chain.name] == nil { result[chain.name] = "mangle" }
        return result
    }

    private func targets(_ rule: NftRule) -> [String] {
        switch rule.verdict {
        case .jump(let name)?, .goto(let name)?: return [name]
        case .map(_, let map)?: return table.map(named: map)?.elements.compactMap { chainTarget($0.verdict) } ?? []
        default: return []
        }
    }

    private func chainTarget(_ verdict: NftVerdict) -> String? {
        switch verdict {
        case .jump(let name), .goto(let name): return name
        default: return nil
        }
    }

    /// The rule arguments after `-A CHAIN`.
    func rules(of chain: NftChain) -> [[String]] {
        chain.rules.flatMap { rule in
            matchExpansions(rule.matches).flatMap { matches in
                rule.statements.map { matches + statement($0) } + (rule.verdict.map { verdict($0, matches: matches) } ?? [])
            }
        }
    }

    /// Every combination of set elements: a lookup in a set of n becomes n rules.
    private func matchExpansions(_ matches: [NftMatch]) -> [[String]] {
        matches.reduce([[]]) { partial, match in
            let alternatives = self.match(match)
            return partial.flatMap { prefix in alternatives.map { prefix + $0 } }
        }
    }

    private func match(_ match: NftMatch) -> [[String]] {
        switch match {
        case .family:
            // iptables sees IPv4 only: the match holds by construction.
            return [[]]
        case .connectionNotNew:
            return [["-m", "conntrack", "!", "--ctstate", "NEW"]]
        case .destinationInSet(_, let name):
            return elements(of: name).map { ["-d", $0] }
        case .inputInterfaceInSet(let name):
            return elements(of: name).map { ["-i", $0] }
        case .outputInterface(let name):
            return [["-o", name]]
        case .destinationIsLocal:
            return [["-m", "addrtype", "--dst-type", "LOCAL"]]
        case .neighbourDiscovery:
            fatalError("TODO(issue 5): iptables form of \(match)")
        }
    }

    private func elements(of setName: String) -> [String] {
        (table.set(named: setName)?.elements ?? []).map { element in
            switch element {
            case .prefix(let prefix): return prefix.length == prefix.family.bitCount ? "\(prefix.address)/\(prefix.length)" : prefix.description
            case .interfaceName(let name): return name
            }
        }
    }

    private func statement(_ statement: NftStatement) -> [String] {
        switch statement {
        case .setPacketMark(let bits): return ["-j", "MARK", "--set-xmark", bits.description]
        case .setConnectionMark(let bits): return ["-j", "CONNMARK", "--set-xmark", bits.description]
        case .count(let counter): return ["-m", "comment", "--comment", "counter \(counter)"]
        case .masquerade: return ["-j", "MASQUERADE"]
        }
    }

    private func verdict(_ verdict: NftVerdict, matches: [String]) -> [[String]] {
        switch verdict {
        case .jump(let chain): return [matches + ["-j", Self.chainName(chain)]]
        case .goto(let chain): return [matches + ["-g", Self.chainName(chain)]]
        case .return: return [matches + ["-j", "RETURN"]]
        case .map(let key, let mapName):
            guard let map = table.map(named: mapName) else { return [] }
            switch key {
            case .connectionMark(let mask):
                return map.elements.map { matches + ["-m", "connmark", "--mark", "\(hex($0.key.number!))/\(hex(mask))"] + jumpOrGoto($0.verdict) }
            case .numberGenerator(.inc, let modulus):
                return map.elements.map { element in
                    matches + ["-m", "statistic", "--mode", "nth", "--every", String(modulus), "--packet", String(element.key.number!),
                               "-j", Self.chainName(chainTarget(element.verdict) ?? "")]
                }
            case .numberGenerator(.random, _):
                return randomCascade(map, matches: matches)
            case .addressHash, .fields:
                fatalError("TODO(issue 5): iptables form of \(key)")
            }
        }
    }

    private func jumpOrGoto(_ verdict: NftVerdict) -> [String] {
        switch verdict {
        case .jump(let chain): return ["-j", Self.chainName(chain)]
        case .goto(let chain): return ["-g", Self.chainName(chain)]
        case .return: return ["-j", "RETURN"]
        case .map: return []
        }
    }

    /// Slots grouped by their chain in order of first appearance; the last takes what is left.
    private func randomCascade(_ map: NftVerdictMap, matches: [String]) -> [[String]] {
        let targets = map.elements.compactMap { chainTarget($0.verdict) }.uniqued()
        let shares = targets.map { target in map.elements.filter { chainTarget($0.verdict) == target }.count }
        let probabilities = cascadedProbabilities(weights: shares)
        return zip(targets, probabilities).enumerated().map { index, pair in
            let (target, probability) = pair
            let chance = index == targets.count - 1 ? [] : ["-m", "statistic", "--mode", "random", "--probability", Self.probability(probability)]
            return matches + chance + ["-g", Self.chainName(target)]
        }
    }

    /// Ten decimals: iptables keeps 31 bits of a probability, about 4.7e-10 apart.
    static func probability(_ value: Double) -> String { String(format: "%.10f", value) }
}
