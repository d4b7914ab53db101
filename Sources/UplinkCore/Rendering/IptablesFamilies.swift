/// Which of iptables (IPv4) and ip6tables (IPv6) each part of the inet table belongs to.
///
/// The inet table sees both families; iptables and ip6tables see one each. A chain exists in
/// a tool when a packet of that family can reach it: the hooks are reached by every family the
/// table serves, and a rule that can hold for one family only (`meta nfproto ipv4`, `ip daddr`,
/// `icmpv6 type`, a jhash over `ip6` addresses) passes on only that family to its targets.
/// So `balance-v4` and what hangs below it exist in iptables only; `via-NAME` of a dual-stack
/// uplink exists in both.
struct IptablesFamilies {
    /// The families the table serves, IPv4 first.
    let table: [IPFamily]
    /// The families that reach each chain.
    let chains: [String: Set<IPFamily>]

    init(_ nft: NftTable) {
        var served = Set(
            nft.chains.flatMap(\.rules).flatMap { rule in
                let families = Self.families(of: rule)
                return families.count == 1 ? Array(families) : []
            })
        if served.isEmpty { served = [.ipv4] }
        table = served.sorted()

        var reached: [String: Set<IPFamily>] = [:]
        func visit(_ name: String, _ families: Set<IPFamily>) {
            guard let chain = nft.chain(named: name) else { return }
            let new = families.subtracting(reached[name] ?? [])
            if new.isEmpty { return }
            reached[name, default: []].formUnion(new)
            for rule in chain.rules {
                let passed = new.intersection(Self.families(of: rule))
                if passed.isEmpty { continue }
                for target in Self.targets(of: rule, in: nft) { visit(target, passed) }
            }
        }
        for chain in nft.chains where chain.hook != nil { visit(chain.name, served) }
        // A chain nothing reaches is still created, as the nft form declares it.
        for chain in nft.chains where reached[chain.name] == nil { reached[chain.name] = served }
        chains = reached
    }

    /// The families a rule can hold for.
    static func families(of rule: NftRule) -> Set<IPFamily> {
        var result = Set(IPFamily.allCases)
        for match in rule.matches { result.formIntersection(families(of: match)) }
        if case .lookup(let key, _, _)? = rule.end { result.formIntersection(families(of: key)) }
        return result
    }

    static func families(of match: NftMatch) -> Set<IPFamily> {
        switch match {
        case .family(let family), .destinationInSet(let family, _): return [family]
        case .neighbourDiscovery: return [.ipv6]
        case .destination(let prefix): return [prefix.family]
        case .transportProtocol(let number):
            return Set(IPFamily.allCases.filter { IPProtocolNumber.exists(number, in: $0) })
        case .connectionNotNew, .outputInterface, .outputInterfaceInSet, .routeInterfaceInSet, .destinationIsLocal,
            .inputInterface, .destinationPorts, .destinationTranslated, .mptcpSubtype:
            return Set(IPFamily.allCases)
        }
    }

    static func families(of key: NftMapKey) -> Set<IPFamily> {
        switch key {
        case .addressHash(let family, _, _): return [family]
        case .fields(let fields):
            return fields.reduce(Set(IPFamily.allCases)) { result, field in
                switch field {
                case .source(let family), .destination(let family): return result.intersection([family])
                default: return result
                }
            }
        case .connectionMark, .packetMark, .numberGenerator: return Set(IPFamily.allCases)
        case .routeRealm: return [.ipv4]
        }
    }

    /// Whether a map element's key can match a packet of `family`: its addresses are of that
    /// family, and its protocol (icmp, icmpv6) exists there.
    static func element(_ key: [NftFieldValue], holdsFor family: IPFamily) -> Bool {
        key.allSatisfy { value in
            switch value {
            case .prefix(let prefix): return prefix.family == family
            case .transportProtocol(let number): return IPProtocolNumber.exists(number, in: family)
            case .number, .interfaceName, .ports: return true
            }
        }
    }

    /// The chains a rule jumps or goes to, directly or through its verdict map.
    static func targets(of rule: NftRule, in nft: NftTable) -> [String] {
        switch rule.end {
        case .verdict(let verdict)?: return verdict.chain.map { [$0] } ?? []
        case .lookup(_, _, let map)?: return nft.map(named: map)?.elements.compactMap(\.verdict.chain) ?? []
        case nil: return []
        }
    }
}
