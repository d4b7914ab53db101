import Foundation

/// One line of the iptables form: a command, or a block of `#` comment lines that explains
/// the commands after it (where iptables has no exact equivalent).
public enum IptablesLine: Sendable, Hashable {
    case command([String])
    case comment([String])
}

/// The iptables form of uplinkctl's nftables table: one iptables chain per nft chain (named
/// `UPL-` + the nft name), rule for rule, so the two behave alike connection for connection.
/// IPv4 goes to `iptables`, IPv6 to `ip6tables`, each with the chains its packets reach
/// (IptablesFamilies).
///
/// The places where the two languages differ:
/// - a set lookup becomes one rule per element;
/// - a verdict map becomes one rule per element (`-m connmark` for a conntrack-mark key;
///   `-i`, `-s`, `-d`, `-p`, `--dport` for a key of packet fields: the elements of one map never
///   overlap, so their order does not matter and the first rule that matches is the element);
/// - `numgen inc mod N` becomes N `-m statistic --mode nth --every N --packet k` rules, jumped
///   (`-j`, not `-g`) so that every new connection passes all N and their counters stay in step:
///   the k-th connection matches `--packet k mod N`, exactly as numgen's counter gives k mod N;
/// - `numgen random mod N` becomes cascaded `--mode random --probability` rules, one per uplink,
///   each w_i / (weights not yet passed);
/// - `jhash` has no equivalent: HMARK is the closest (IptablesMaps.hashRules says how and what it costs);
/// - a named counter becomes a rule with no target, whose packet counter is the count;
/// - a rule with a match iptables cannot express (`tcp option mptcp subtype`) is left out, with a
///   comment in its place that says so;
/// - base chains become chains jumped to from the built-in chain of the same hook, last of all.
public struct IptablesTranslation {
    let table: NftTable
    let families: IptablesFamilies
    /// The iptables table (mangle, nat) of each chain.
    let tables: [String: String]

    public init(_ table: NftTable) {
        self.table = table
        self.families = IptablesFamilies(table)
        self.tables = Self.iptablesTables(table)
    }

    public static func chainName(_ nftChain: String) -> String { Ownership.iptablesChainPrefix + nftChain }

    /// `iptables` for IPv4, `ip6tables` for IPv6.
    public static func tool(_ family: IPFamily) -> String { family == .ipv4 ? "iptables" : "ip6tables" }

    /// Every command, in an order that works on a host without any of them.
    public func commands() -> [[String]] {
        lines().compactMap { line in
            if case .command(let command) = line { return command }
            return nil
        }
    }

    /// The commands with their explanations: all of iptables, then all of ip6tables. An
    /// explanation already given is not repeated in full.
    public func lines() -> [IptablesLine] {
        var result: [IptablesLine] = []
        var explained: Set<[String]> = []
        for family in families.table {
            if families.table.count > 1 {
                result.append(
                    .comment([family == .ipv4 ? "IPv4: iptables." : "IPv6: ip6tables, the chains IPv6 packets reach."]))
            }
            for line in lines(family) {
                guard case .comment(let text) = line else {
                    result.append(line)
                    continue
                }
                let headline = text.first.map { $0.hasSuffix(".") ? String($0.dropLast()) : $0 } ?? ""
                result.append(explained.insert(text).inserted ? line : .comment([headline + " (see above)."]))
            }
        }
        return result
    }

    private func lines(_ family: IPFamily) -> [IptablesLine] {
        let chains = table.chains.filter { families.chains[$0.name]?.contains(family) == true }
        var result: [IptablesLine] = chains.map { .command(command(family, $0.name, "-N", Self.chainName($0.name))) }
        for chain in chains {
            result += rules(of: chain, family).map { line in
                guard case .command(let arguments) = line else { return line }
                return .command(command(family, chain.name, "-A", Self.chainName(chain.name)) + arguments)
            }
        }
        for chain in chains {
            guard let hook = chain.hook else { continue }
            result.append(
                .command(
                    command(
                        family, chain.name, "-A", hook.point.rawValue.uppercased(), "-j", Self.chainName(chain.name))))
        }
        return result
    }

    private func command(_ family: IPFamily, _ chain: String, _ arguments: String...) -> [String] {
        [Self.tool(family), "-t", tables[chain] ?? "mangle"] + arguments
    }

    /// Base chains by hook type (nat → nat, the rest → mangle); regular chains by their callers.
    private static func iptablesTables(_ table: NftTable) -> [String: String] {
        var result: [String: String] = [:]
        func visit(_ name: String, _ iptablesTable: String) {
            guard result[name] == nil, let chain = table.chain(named: name) else { return }
            result[name] = iptablesTable
            for target in chain.rules.flatMap({ IptablesFamilies.targets(of: $0, in: table) }) {
                visit(target, iptablesTable)
            }
        }
        for chain in table.chains {
            if let hook = chain.hook { visit(chain.name, hook.type == .nat ? "nat" : "mangle") }
        }
        for chain in table.chains where result[chain.name] == nil { result[chain.name] = "mangle" }
        return result
    }

    /// The rule arguments after `-A CHAIN`, for the packets of `family`; a rule that cannot
    /// hold for the family has none.
    func rules(of chain: NftChain, _ family: IPFamily) -> [IptablesLine] {
        var result: [IptablesLine] = []
        for rule in chain.rules {
            if let comment = Self.inexpressibleComment(rule) {
                if IptablesFamilies.families(of: rule).contains(family) { result.append(.comment(comment)) }
                continue
            }
            let expansions = matchExpansions(rule.matches, family)
            if rule.matches.contains(where: { if case .routeInterfaceInSet = $0 { return true } else { return false } })
            {
                result.append(.comment(Self.routeLookupComment))
            }
            result += expansions.flatMap { matches -> [IptablesLine] in
                rule.statements.map { .command(matches + statement($0)) }
                    + (rule.end.map { end($0, matches: matches, family) } ?? [])
            }
            // A closest form that always leaves the chain makes the rules after it unreachable.
            if expansions == [[]], rule.statements.isEmpty, Self.leavesTheChain(rule.end) { break }
        }
        return result
    }

    /// `goto` and `return`: the chain's later rules are not reached (`jump` comes back).
    static func leavesTheChain(_ end: NftRuleEnd?) -> Bool {
        switch end {
        case .verdict(.goto)?, .verdict(.return)?, .verdict(.drop)?: return true
        default: return false
        }
    }

    /// `fib daddr . mark oifname @set` asks the routing, before the routing decision, which
    /// interface a forwarded connection will leave by. iptables has no such match (addrtype
    /// knows only local addresses, rpfilter looks up the source), so the closest form balances
    /// every forwarded connection that gets this far, as uplinkctl did before it asked.
    static let routeLookupHeadline =
        "iptables cannot ask the routing in PREROUTING which interface a connection will leave by."
    static let routeLookupComment = [
        routeLookupHeadline,
        "- The nft form balances a forwarded connection only when its route (nft `fib daddr . mark oifname`)",
        "  leaves by an uplink, and leaves the rest (a VPN tunnel, another routing table, a container",
        "  bridge) alone. The closest form, below, balances every forwarded connection that gets here.",
        "- To keep such connections off the uplinks in this form, name them in `bypass` policies",
        "  (their destinations or `in-interface`), or use the nft form."
    ]

    /// The comment that stands for a rule iptables cannot express, nil for the rest. iptables has
    /// no match on the MPTCP option's subtype (`-m tcp --tcp-option 30` sees only that the option
    /// is there): the rule is left out rather than widened to every MPTCP packet.
    static func inexpressibleComment(_ rule: NftRule) -> [String]? {
        let subtypes = rule.matches.compactMap { match -> UInt8? in
            if case .mptcpSubtype(let subtype) = match { return subtype } else { return nil }
        }
        guard !subtypes.isEmpty else { return nil }
        let described = subtypes.map { subtype in
            "tcp option mptcp subtype \(subtype)" + (mptcpSubtypeNames[subtype].map { " (MPTCP \($0))" } ?? "")
        }
        return [
            "Not expressible in iptables: \(described.joined(separator: ", ")).",
            "- Left out: `\(NftText.rule(rule))`; such packets go on through the chain like any other."
        ]
    }

    /// RFC 8684's names of the MPTCP option subtypes.
    static let mptcpSubtypeNames: [UInt8: String] = [
        0: "MP_CAPABLE", 1: "MP_JOIN", 2: "DSS", 3: "ADD_ADDR", 4: "REMOVE_ADDR", 5: "MP_PRIO", 6: "MP_FAIL",
        7: "MP_FASTCLOSE", 8: "MP_TCPRST"
    ]

    /// Every combination of set elements: a lookup in a set of n becomes n rules.
    private func matchExpansions(_ matches: [NftMatch], _ family: IPFamily) -> [[String]] {
        matches.reduce([[]]) { partial, match in
            let alternatives = self.match(match, family, in: matches)
            return partial.flatMap { prefix in alternatives.map { prefix + $0 } }
        }
    }

    /// The alternatives a match becomes; none when it cannot hold for `family`.
    private func match(_ match: NftMatch, _ family: IPFamily, in matches: [NftMatch]) -> [[String]] {
        guard IptablesFamilies.families(of: match).contains(family) else { return [] }
        switch match {
        case .family:
            // The tool sees only its own family: the match holds by construction.
            return [[]]
        case .connectionNotNew:
            return [["-m", "conntrack", "!", "--ctstate", "NEW"]]
        case .destinationInSet(_, let name):
            return elements(of: name).map { ["-d", $0] }
        case .outputInterface(let name):
            return [["-o", name]]
        case .outputInterfaceInSet(let name):
            return elements(of: name).map { ["-o", $0] }
        case .routeInterfaceInSet:
            // No equivalent: the closest form holds for every packet (see routeLookupComment).
            return [[]]
        case .destinationIsLocal:
            return [["-m", "addrtype", "--dst-type", "LOCAL"]]
        case .neighbourDiscovery:
            // icmpv6 type 133-137: one rule per type, as --icmpv6-type takes no range.
            return (133...137).map { ["-p", "ipv6-icmp", "-m", "icmp6", "--icmpv6-type", String($0)] }
        case .inputInterface(let name):
            return [["-i", name]]
        case .destination(let prefix):
            return [["-d", Self.prefix(prefix)]]
        case .transportProtocol(let number):
            return [["-p", IPProtocolNumber.name(number) ?? String(number)]]
        case .destinationPorts(let ports):
            // Behind `-p tcp` or `-p udp` in the same rule, whose match module it loads.
            let protocolName =
                matches.lazy.compactMap { match -> String? in
                    if case .transportProtocol(let number) = match { return IPProtocolNumber.name(number) }
                    return nil
                }.first ?? "tcp"
            return [
                [
                    "-m", protocolName, "--dport",
                    ports.lower == ports.upper ? "\(ports.lower)" : "\(ports.lower):\(ports.upper)"
                ]
            ]
        case .destinationTranslated:
            return [["-m", "conntrack", "--ctstate", "DNAT"]]
        case .mptcpSubtype:
            // Never reached: rules(of:) leaves such a rule out (inexpressibleComment).
            return []
        }
    }

    private func elements(of setName: String) -> [String] {
        (table.set(named: setName)?.elements ?? []).map { element in
            switch element {
            case .prefix(let prefix): return Self.prefix(prefix)
            case .interfaceName(let name): return name
            }
        }
    }

    /// `198.18.1.2/32` for an address, as iptables-save writes it.
    static func prefix(_ prefix: IPPrefix) -> String {
        prefix.length == prefix.family.bitCount ? "\(prefix.address)/\(prefix.length)" : prefix.description
    }

    private func statement(_ statement: NftStatement) -> [String] {
        switch statement {
        case .setPacketMark(let bits): return ["-j", "MARK", "--set-xmark", bits.description]
        case .setConnectionMark(let bits): return ["-j", "CONNMARK", "--set-xmark", bits.description]
        case .count(let counter): return ["-m", "comment", "--comment", "counter \(counter)"]
        case .masquerade: return ["-j", "MASQUERADE"]
        case .translateDestination(.thisHost(let port)):
            return ["-j", "REDIRECT"] + (port.map { ["--to-ports", "\($0)"] } ?? [])
        case .translateDestination(let target): return ["-j", "DNAT", "--to-destination", target.description]
        }
    }

    private func end(_ end: NftRuleEnd, matches: [String], _ family: IPFamily) -> [IptablesLine] {
        switch end {
        case .verdict(let verdict): return [.command(matches + Self.target(verdict))]
        case .lookup(let key, let mask, let mapName):
            guard let map = table.map(named: mapName) else { return [] }
            return IptablesMaps(table: table).rules(map, key: key, mask: mask, matches: matches, family)
        }
    }

    /// `-j CHAIN`, `-g CHAIN` or `-j RETURN`.
    static func target(_ verdict: NftVerdict) -> [String] {
        switch verdict {
        case .jump(let chain): return ["-j", chainName(chain)]
        case .goto(let chain): return ["-g", chainName(chain)]
        case .return: return ["-j", "RETURN"]
        case .drop: return ["-j", "DROP"]
        }
    }

    /// Ten decimals: iptables keeps 31 bits of a probability, about 4.7e-10 apart.
    static func probability(_ value: Double) -> String { String(format: "%.10f", value) }
}
