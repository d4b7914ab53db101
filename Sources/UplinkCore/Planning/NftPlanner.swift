/// Plans the `inet uplinkctl` table.
///
/// Packet path: the hooks jump to `balance-v4` or `balance-v6`. A packet of a known connection
/// finds its uplink through `known` (conntrack mark → `via-NAME`, which stamps the packet mark).
/// A new connection goes, in order: never balanced (loopback, link-local, multicast, neighbour
/// discovery) → the policies → the
/// balancer's slot (`slots-vN` → `new-NAME`, which stamps the conntrack mark, then `via-NAME`).
/// The host's own IPv4 connections pass `local-v4` first: a socket bound to an uplink's address
/// takes that uplink (`bound-v4`, by the realm of the route its `from` rule gave it).
/// A connection arriving from outside on an uplink gets that uplink's conntrack mark (`inbound`
/// → `in-NAME`), so its replies leave the way it came. Only bits of the mark mask change: a map
/// from the masked value to a fixed setter per uplink needs no two-register bitwise operation.
struct NftPlanner {
    let config: Config
    let uplinks: [PlannedUplink]
    let addresses: LinkAddresses

    static let knownMap = "known"
    static let inboundMap = "inbound"
    static let ecmpName = "ecmp"
    static let ecmpCounter = "conns-\(ecmpName)"
    static let boundMap = "bound-v4"
    static let localChain = "local-v4"
    /// The jhash seed: fixed, so that the plan is the same every time and a re-apply keeps
    /// every pair of addresses on its uplink.
    static let hashSeed: UInt32 = 0x7570_6c6b

    static func balanceChain(_ family: IPFamily) -> String { "balance-\(suffix(family))" }
    static func neverBalancedSet(_ family: IPFamily) -> String { "never-balanced-\(suffix(family))" }
    static func slotsMap(_ family: IPFamily) -> String { "slots-\(suffix(family))" }
    static func suffix(_ family: IPFamily) -> String { family == .ipv4 ? "v4" : "v6" }
    static func viaChainName(_ name: String) -> String { "via-\(name)" }
    static func newChainName(_ name: String) -> String { "new-\(name)" }
    static func inboundChainName(_ name: String) -> String { "in-\(name)" }

    private var families: [IPFamily] { Planner.families(config) }
    private var mask: UInt32 { config.markMask }

    func table() -> NftTable {
        var sets: [NftSet] = []
        var maps = [knownMap(), inboundMap()]
        var chains = uplinks.map { viaChain($0.uplink.name, mark: $0.uplink.mark) }
        var targets = uplinks.map { (name: $0.uplink.name, mark: $0.uplink.mark, counter: $0.connectionCounter) }
        if let ecmp = config.ecmp {
            chains.append(viaChain(Self.ecmpName, mark: ecmp.mark))
            targets.append((Self.ecmpName, ecmp.mark, Self.ecmpCounter))
        }
        chains += targets.map { newConnectionChain($0.name, mark: $0.mark, counter: $0.counter) }
        chains += uplinks.map(inboundChain)

        for family in families {
            sets.append(NftSet(name: Self.neverBalancedSet(family), type: family == .ipv4 ? .ipv4Prefixes : .ipv6Prefixes,
                               elements: Planner.neverBalanced[family]!.map { .prefix($0) }))
            let policies = PolicyCompiler(config: config, family: family, tail: tail).compile()
            maps += policies.maps
            chains += policies.chains
            var rules = [
                NftRule([], [], .map(.connectionMark(mask: mask), map: Self.knownMap)),
                // Connections that predate uplinkctl keep their route: moving them would break them.
                // Neighbour discovery is untracked, so this also returns it; the rule below says so plainly.
                NftRule([.connectionNotNew], [], .return),
                NftRule([.destinationInSet(family, set: Self.neverBalancedSet(family))], [], .return),
            ]
            if family == .ipv6 { rules.append(NftRule([.neighbourDiscovery], [], .return)) }
            rules += policies.rules
            let balance = tail(family, uplinks.filter { $0.uplink.carries(family) }.map { ($0.uplink.name, $0.uplink.weight) }, Self.slotsMap(family))
            rules.append(balance.rule)
            maps += balance.map.map { [$0] } ?? []
            chains.append(NftChain(name: Self.balanceChain(family), rules: rules))
        }
        if boundSockets {
            maps.append(boundMap())
            chains.append(localChain())
        }
        chains.append(outputChain())
        chains.append(preroutingChain())
        if let postrouting = postroutingChain() { chains.append(postrouting) }
        return NftTable(counters: targets.map(\.counter), sets: sets, maps: maps, chains: chains)
    }

    private func bits(_ mark: UInt32) -> MarkedBits { MarkedBits(value: mark, mask: mask) }

    private func jumps(into family: IPFamily) -> NftRule {
        NftRule([.family(family)], [], .jump(Self.balanceChain(family)))
    }

    /// Sockets bound to an uplink's IPv4 address are recognised on the host's own connections.
    private var boundSockets: Bool { config.traffic.contains(.local) && families.contains(.ipv4) }

    /// The host's own IPv4 connections: a socket bound to an uplink's address was routed by that
    /// uplink's `from` rule before the output hook, and its route's realm says which uplink;
    /// anything else goes on to `balance-v4`. (IPv6 routes have no realm.)
    private func localChain() -> NftChain {
        NftChain(name: Self.localChain, rules: [
            NftRule([], [], .map(.connectionMark(mask: mask), map: Self.knownMap)),
            NftRule([.connectionNotNew], [], .return),
            NftRule([], [], .map(.routeRealm, map: Self.boundMap)),
            NftRule([], [], .goto(Self.balanceChain(.ipv4))),
        ])
    }

    /// Local connections are balanced when asked; otherwise only connections with a mark
    /// (replies to inbound connections) are steered.
    private func outputChain() -> NftChain {
        let rules = config.traffic.contains(.local)
            ? families.map { $0 == .ipv4 ? NftRule([.family(.ipv4)], [], .jump(Self.localChain)) : jumps(into: $0) }
            : [NftRule([], [], .map(.connectionMark(mask: mask), map: Self.knownMap))]
        return NftChain(name: "output", hook: NftHook(type: .route, point: .output, priority: NftHook.manglePriority), rules: rules)
    }

    private func preroutingChain() -> NftChain {
        var rules = [
            // Arriving from the outside: remember the uplink of a new connection; nothing else.
            NftRule([], [], .map(.fields([.inputInterfaceName]), map: Self.inboundMap)),
        ]
        if config.traffic.contains(.forwarded) {
            // Addressed to this host: input, not forwarding.
            rules.append(NftRule([.destinationIsLocal], [], .return))
            rules += families.map(jumps(into:))
        } else {
            rules.append(NftRule([], [], .map(.connectionMark(mask: mask), map: Self.knownMap)))
        }
        return NftChain(name: "prerouting", hook: NftHook(type: .filter, point: .prerouting, priority: NftHook.manglePriority), rules: rules)
    }

    private func postroutingChain() -> NftChain? {
        let rules = families.flatMap { family in
            uplinks.filter { $0.uplink.masquerades(family) }.map(\.uplink.interface).uniqued()
                .map { NftRule([.family(family), .outputInterface($0)], [.masquerade]) }
        }
        if rules.isEmpty { return nil }
        return NftChain(name: "postrouting", hook: NftHook(type: .nat, point: .postrouting, priority: NftHook.srcnatPriority), rules: rules)
    }

    private func viaChain(_ name: String, mark: UInt32) -> NftChain {
        NftChain(name: Self.viaChainName(name), rules: [
            // No per-packet counter: the interface's own statistics say what the uplink carried.
            NftRule([], [.setPacketMark(bits(mark))]),
        ])
    }

    private func newConnectionChain(_ name: String, mark: UInt32, counter: String) -> NftChain {
        NftChain(name: Self.newChainName(name), rules: [
            NftRule([], [.setConnectionMark(bits(mark)), .count(counter: counter)], .goto(Self.viaChainName(name))),
        ])
    }

    private func inboundChain(_ uplink: PlannedUplink) -> NftChain {
        NftChain(name: Self.inboundChainName(uplink.uplink.name), rules: [
            NftRule([.connectionNotNew], [], .return),
            NftRule([], [.setConnectionMark(bits(uplink.uplink.mark))]),
        ])
    }

    private func knownMap() -> NftVerdictMap {
        var elements = uplinks.map { NftVerdictMap.Element(key: $0.uplink.mark, verdict: .goto(Self.viaChainName($0.uplink.name))) }
        if let ecmp = config.ecmp { elements.append(.init(key: ecmp.mark, verdict: .goto(Self.viaChainName(Self.ecmpName)))) }
        return NftVerdictMap(name: Self.knownMap, typeof: .connectionMark, elements: elements)
    }

    private func boundMap() -> NftVerdictMap {
        let recognisable = uplinks.enumerated().filter {
            $0.element.uplink.carries(.ipv4) && !addresses.mainDefaultInterfaces.contains($0.element.uplink.interface)
        }
        return NftVerdictMap(name: Self.boundMap, typeof: .routeRealm, elements: recognisable.map {
            .init(key: UInt32(Planner.realm(slot: $0.offset)), verdict: .goto(Self.newChainName($0.element.uplink.name)))
        })
    }

    /// An interface two uplinks share (two routers on one segment) cannot say which one a
    /// connection came by: it gets no inbound mark, and its replies follow the main table.
    private func inboundMap() -> NftVerdictMap {
        let alone = uplinks.filter { planned in uplinks.count { $0.uplink.interface == planned.uplink.interface } == 1 }
        return NftVerdictMap(name: Self.inboundMap, typeof: .fields([.inputInterfaceName]), elements: alone.map {
            .init(key: [.interfaceName($0.uplink.interface)], verdict: .goto(Self.inboundChainName($0.uplink.name)))
        })
    }

    /// The last rule of a balancing decision over `members` (name, weight): a slot map keyed by
    /// the balance mode's generator, or with ECMP, the multipath table's mark.
    func tail(_ family: IPFamily, _ members: [(name: String, weight: Int)], _ mapName: String) -> (rule: NftRule, map: NftVerdictMap?) {
        if config.ecmp != nil { return (NftRule([], [], .goto(Self.newChainName(Self.ecmpName))), nil) }
        let weights = reducedWeights(members.map(\.weight))
        let total = UInt32(weights.reduce(0, +))
        let key: NftMapKey
        switch config.balance {
        case .nth: key = .numberGenerator(.inc, modulus: total)
        case .random: key = .numberGenerator(.random, modulus: total)
        case .hash, .ecmp: key = .addressHash(family, modulus: total, seed: Self.hashSeed)
        }
        // Slot k → the uplink of the k-th connection in the cycle. Random and hash draw the
        // same map uniformly, so each uplink gets exactly its share of slots.
        let order = smoothSlotOrder(weights: weights)
        let map = NftVerdictMap(name: mapName, typeof: key.typeof, elements: order.enumerated().map { slot, index in
            .init(key: UInt32(slot), verdict: .goto(Self.newChainName(members[index].name)))
        })
        return (NftRule([], [], .map(key, map: mapName)), map)
    }
}

extension Array where Element: Hashable {
    /// The elements in order, each only the first time it appears.
    func uniqued() -> [Element] {
        var seen = Set<Element>()
        return filter { seen.insert($0).inserted }
    }
}
