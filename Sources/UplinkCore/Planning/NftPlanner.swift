/// Plans the `inet uplinkctl` table.
///
/// Packet path: a packet of a connection conntrack already knew is done after the hook's first
/// two rules: it finds its uplink through `known` (conntrack mark → `via-NAME`, which stamps
/// the packet mark), or nothing. A new connection goes on: the output hook jumps to `local-vN`,
/// the prerouting hook to `forwarded-vN` (after `inbound`). It is ours to balance only when it
/// would leave by an uplink without us: never balanced (loopback, link-local, multicast,
/// neighbour discovery) and addressed to this host return; then the interface the routing chose
/// (`oifname` for the host's own, already routed; `fib daddr . mark oifname` for a forwarded
/// one, asked before its routing) must be an uplink's, or the connection is left alone
/// (`left-alone`: counted, and its conntrack mark says so, so that later packets skip all this).
/// Balanced connections go on to `balance-vN`: the policies, then the balancer's slot
/// (`slots-vN` → `new-NAME`, which stamps the conntrack mark, then `via-NAME`).
/// The host's own IPv4 connections: a socket bound to an uplink's address takes that uplink
/// (`bound-v4`, by the realm of the route its `from` rule gave it).
/// A connection arriving from outside on an uplink gets that uplink's conntrack mark (`inbound`
/// → `in-NAME`), so its replies leave the way it came. Only bits of the mark mask change: a map
/// from the masked value to a fixed setter per uplink needs no two-register bitwise operation.
struct NftPlanner {
    let config: Config
    let uplinks: [PlannedUplink]
    let facts: PlanFacts

    static let knownMap = "known"
    static let socketMarksMap = "socket-marks"
    static let inboundMap = "inbound"
    static let ecmpName = "ecmp"
    static let ecmpCounter = "conns-\(ecmpName)"
    static let boundMap = "bound-v4"
    static let leftAloneChain = "left-alone"
    /// The uplinks' interfaces, for `oifname` (output) and for `fib … oifname` (prerouting).
    static let uplinkInterfacesSet = "uplink-interfaces"
    static let uplinkRouteInterfacesSet = "uplink-route-interfaces"
    /// The jhash seed: fixed, so that the plan is the same every time and a re-apply keeps
    /// every pair of addresses on its uplink.
    static let hashSeed: UInt32 = 0x7570_6c6b

    static func balanceChain(_ family: IPFamily) -> String { "balance-\(suffix(family))" }
    static func localChain(_ family: IPFamily) -> String { "local-\(suffix(family))" }
    static func forwardedChain(_ family: IPFamily) -> String { "forwarded-\(suffix(family))" }
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
        chains.append(leftAloneChain())

        let interfaces = uplinks.map { NftSet.Element.interfaceName($0.uplink.interface) }
        if config.traffic.contains(.local) {
            sets.append(NftSet(name: Self.uplinkInterfacesSet, type: .interfaceNames, elements: interfaces))
        }
        if config.traffic.contains(.forwarded) {
            sets.append(NftSet(name: Self.uplinkRouteInterfacesSet, type: .routeInterfaceNames, elements: interfaces))
        }
        if boundSockets { maps.append(boundMap()) }
        if config.traffic.contains(.local) { maps.append(socketMarksMap()) }
        maps += families.compactMap { ServicePlanner.listenersMap(config, $0) }
        for family in families {
            sets.append(
                NftSet(
                    name: Self.neverBalancedSet(family), type: family == .ipv4 ? .ipv4Prefixes : .ipv6Prefixes,
                    elements: Planner.neverBalanced(family).map { .prefix($0) }))
            let policies = PolicyCompiler(config: config, family: family, down: facts.down, tail: tail).compile()
            maps += policies.maps
            chains += policies.chains
            let members = uplinks.filter { $0.uplink.carries(family) }.map { ($0.uplink.name, $0.uplink.weight) }
            let balance = tail(family, members, Self.slotsMap(family))
            maps += balance.map.map { [$0] } ?? []
            chains.append(NftChain(name: Self.balanceChain(family), rules: policies.rules + [balance.rule]))
            if config.traffic.contains(.local) { chains.append(localChain(family)) }
            if config.traffic.contains(.forwarded) { chains.append(forwardedChain(family)) }
        }
        chains.append(outputChain())
        chains.append(preroutingChain())
        let services = ServicePlanner(config: config, facts: facts).objects()
        maps += services.maps
        chains += services.chains
        if let postrouting = postroutingChain(services.masquerade) { chains.append(postrouting) }
        return NftTable(
            counters: targets.map(\.counter) + [Ownership.leftAloneCounter] + services.counters, sets: sets, maps: maps,
            chains: chains)
    }

    /// What every new connection of `family` passes before the question of its route: a known
    /// connection follows its mark, one that predates uplinkctl keeps its route (moving it would
    /// break it), and destinations that never leave by a default route return.
    /// `socketMarks`: the host's own connections only (see localChain).
    private func newConnectionGate(_ family: IPFamily, socketMarks: Bool) -> [NftRule] {
        var rules = [
            NftRule([], [], .lookup(.connectionMark, mask: mask, map: Self.knownMap)),
            // Neighbour discovery is untracked, so this also returns it; the rule below says so plainly.
            NftRule([.connectionNotNew], [], .verdict(.return))
        ]
        // A service's connection, to a listener's address that need not be this host's: never balanced.
        if let listeners = ServicePlanner.listenersLookup(config, family) { rules.append(listeners) }
        if socketMarks { rules.append(NftRule([], [], .lookup(.packetMark, mask: mask, map: Self.socketMarksMap))) }
        rules.append(NftRule([.destinationInSet(family, set: Self.neverBalancedSet(family))], [], .verdict(.return)))
        if family == .ipv6 { rules.append(NftRule([.neighbourDiscovery], [], .verdict(.return))) }
        return rules
    }

    /// The host's own connections, already routed by the kernel (`oifname` is its choice, made
    /// without our mark): balanced only when that route leaves by an uplink. A socket bound to
    /// an uplink's IPv4 address was routed by that uplink's `from` rule, and its route's realm
    /// says which uplink (IPv6 routes have no realm).
    private func localChain(_ family: IPFamily) -> NftChain {
        // A socket that carries an uplink's mark (SO_MARK: `ping -m`, the health probes of
        // `run`) was routed by that uplink's rule already: it keeps it, unbalanced and uncounted.
        var rules = newConnectionGate(family, socketMarks: true)
        rules.append(NftRule([.outputInterface("lo")], [], .verdict(.return)))
        if family == .ipv4 && boundSockets { rules.append(NftRule([], [], .lookup(.routeRealm, map: Self.boundMap))) }
        if config.mptcp != nil { rules += Self.mptcpRules }
        let balance = NftRuleEnd.verdict(.goto(Self.balanceChain(family)))
        rules.append(NftRule([.outputInterfaceInSet(Self.uplinkInterfacesSet)], [], balance))
        rules.append(NftRule([], [], .verdict(.goto(Self.leftAloneChain))))
        return NftChain(name: Self.localChain(family), rules: rules)
    }

    /// With MPTCP, the host's subflows are never balanced. The first (MP_CAPABLE) keeps the
    /// route and source address the kernel chose: moved and masqueraded onto another uplink,
    /// the path manager, which still sees the old address, would open its extra subflows on
    /// the uplinks it thinks are free, two of them sharing one link. A join (MP_JOIN) is bound
    /// to its endpoint's address and leaves by that uplink's `from` rule.
    static let mptcpRules = [
        NftRule([.mptcpSubtype(0)], [], .verdict(.return)),
        NftRule([.mptcpSubtype(1)], [], .verdict(.return))
    ]

    /// Connections routed through this host, before their routing decision: the kernel is asked
    /// where they would go (with their own mark, before ours), and only those whose route leaves
    /// by an uplink are balanced. The lookup cannot see `iif` rules (it is made as if from the
    /// host itself); README, "Living with other policy routing".
    private func forwardedChain(_ family: IPFamily) -> NftChain {
        var rules = newConnectionGate(family, socketMarks: false)
        // Addressed to this host: input, not forwarding.
        rules.append(NftRule([.destinationIsLocal], [], .verdict(.return)))
        let balance = NftRuleEnd.verdict(.goto(Self.balanceChain(family)))
        rules.append(NftRule([.routeInterfaceInSet(Self.uplinkRouteInterfacesSet)], [], balance))
        rules.append(NftRule([], [], .verdict(.goto(Self.leftAloneChain))))
        return NftChain(name: Self.forwardedChain(family), rules: rules)
    }

    /// A new connection whose route does not leave by an uplink: counted once, and marked as
    /// left alone so that its later packets (`known` → return) are not asked again.
    private func leftAloneChain() -> NftChain {
        NftChain(
            name: Self.leftAloneChain,
            rules: [
                NftRule(
                    [], [.setConnectionMark(bits(config.leftAloneMark)), .count(counter: Ownership.leftAloneCounter)])
            ])
    }

    private func bits(_ mark: UInt32) -> MarkedBits { MarkedBits(value: mark, mask: mask) }

    private func jump(_ family: IPFamily, to chain: String) -> NftRule {
        NftRule([.family(family)], [], .verdict(.jump(chain)))
    }

    /// Sockets bound to an uplink's IPv4 address are recognised on the host's own connections.
    private var boundSockets: Bool { config.traffic.contains(.local) && families.contains(.ipv4) }

    /// Every packet of a connection conntrack already knew passes these two rules alone: its
    /// uplink from its conntrack mark (`known`), or nothing. Only new connections go further.
    private var knownConnections: [NftRule] {
        [
            NftRule([.connectionNotNew], [], .lookup(.connectionMark, mask: mask, map: Self.knownMap)),
            NftRule([.connectionNotNew], [], .verdict(.return))
        ]
    }

    /// Local connections are balanced when asked; otherwise only connections with a mark
    /// (replies to inbound connections) are steered.
    private func outputChain() -> NftChain {
        let rules =
            config.traffic.contains(.local)
            ? knownConnections + families.map { jump($0, to: Self.localChain($0)) }
            : [NftRule([], [], .lookup(.connectionMark, mask: mask, map: Self.knownMap))]
        return NftChain(
            name: "output", hook: NftHook(type: .route, point: .output, priority: NftHook.manglePriority), rules: rules)
    }

    private func preroutingChain() -> NftChain {
        var rules =
            knownConnections + [
                // Arriving from the outside: remember the uplink of a new connection.
                NftRule([], [], .lookup(.fields([.inputInterfaceName]), map: Self.inboundMap))
            ]
        if config.traffic.contains(.forwarded) {
            rules += families.map { jump($0, to: Self.forwardedChain($0)) }
        } else {
            rules.append(NftRule([], [], .lookup(.connectionMark, mask: mask, map: Self.knownMap)))
        }
        return NftChain(
            name: "prerouting", hook: NftHook(type: .filter, point: .prerouting, priority: NftHook.manglePriority),
            rules: rules)
    }

    /// Masquerade by the uplinks, and toward the services' backends elsewhere.
    private func postroutingChain(_ services: [NftRule]) -> NftChain? {
        let rules =
            families.flatMap { family in
                uplinks.filter { $0.uplink.masquerades(family) }.map(\.uplink.interface).uniqued()
                    .map { NftRule([.family(family), .outputInterface($0)], [.masquerade]) }
            } + services
        if rules.isEmpty { return nil }
        return NftChain(
            name: "postrouting", hook: NftHook(type: .nat, point: .postrouting, priority: NftHook.srcnatPriority),
            rules: rules)
    }

    private func viaChain(_ name: String, mark: UInt32) -> NftChain {
        NftChain(
            name: Self.viaChainName(name),
            rules: [
                // No per-packet counter: the interface's own statistics say what the uplink carried.
                NftRule([], [.setPacketMark(bits(mark))])
            ])
    }

    private func newConnectionChain(_ name: String, mark: UInt32, counter: String) -> NftChain {
        NftChain(
            name: Self.newChainName(name),
            rules: [
                NftRule(
                    [], [.setConnectionMark(bits(mark)), .count(counter: counter)],
                    .verdict(.goto(Self.viaChainName(name))))
            ])
    }

    private func inboundChain(_ uplink: PlannedUplink) -> NftChain {
        NftChain(
            name: Self.inboundChainName(uplink.uplink.name),
            rules: [
                NftRule([.connectionNotNew], [], .verdict(.return)),
                NftRule([], [.setConnectionMark(bits(uplink.uplink.mark))])
            ])
    }

    private func knownMap() -> NftVerdictMap {
        var elements = uplinks.map {
            NftVerdictMap.Element(key: $0.uplink.mark, verdict: .goto(Self.viaChainName($0.uplink.name)))
        }
        if let ecmp = config.ecmp {
            elements.append(.init(key: ecmp.mark, verdict: .goto(Self.viaChainName(Self.ecmpName))))
        }
        elements.append(.init(key: config.leftAloneMark, verdict: .return))
        return NftVerdictMap(name: Self.knownMap, typeof: .connectionMark, elements: elements)
    }

    /// With services, `run`'s checks of their backends carry `backendProbeMark`: never balanced or counted.
    private func socketMarksMap() -> NftVerdictMap {
        let marks = uplinks.map(\.uplink.mark) + (config.services.isEmpty ? [] : [config.backendProbeMark])
        return NftVerdictMap(
            name: Self.socketMarksMap, typeof: .packetMark, elements: marks.map { .init(key: $0, verdict: .return) })
    }

    private func boundMap() -> NftVerdictMap {
        let recognisable = uplinks.enumerated().filter {
            $0.element.uplink.carries(.ipv4) && !facts.mainDefaultInterfaces.contains($0.element.uplink.interface)
        }
        return NftVerdictMap(
            name: Self.boundMap, typeof: .routeRealm,
            elements: recognisable.map {
                .init(
                    key: UInt32(Planner.realm(slot: $0.offset)),
                    verdict: .goto(Self.newChainName($0.element.uplink.name)))
            })
    }

    /// An interface two uplinks share (two routers on one segment) cannot say which one a
    /// connection came by: it gets no inbound mark, and its replies follow the main table.
    private func inboundMap() -> NftVerdictMap {
        let alone = uplinks.filter { planned in uplinks.count { $0.uplink.interface == planned.uplink.interface } == 1 }
        return NftVerdictMap(
            name: Self.inboundMap, typeof: .fields([.inputInterfaceName]),
            elements: alone.map {
                .init(key: [.interfaceName($0.uplink.interface)], verdict: .goto(Self.inboundChainName($0.uplink.name)))
            })
    }

    /// The last rule of a balancing decision over `members` (name, weight): a slot map keyed by
    /// the balance mode's generator, or with ECMP, the multipath table's mark.
    func tail(_ family: IPFamily, _ members: [(name: String, weight: Int)], _ mapName: String) -> (
        rule: NftRule, map: NftVerdictMap?
    ) {
        if config.ecmp != nil { return (NftRule([], [], .verdict(.goto(Self.newChainName(Self.ecmpName)))), nil) }
        let slots = SlotMap(
            name: mapName, balance: config.balance, family: family,
            members: members.map { member in
                (member.weight, Self.newChainName(member.name), !facts.down.contains(member.name))
            })
        return (slots.rule, slots.map)
    }
}

extension Array where Element: Hashable {
    /// The elements in order, each only the first time it appears.
    func uniqued() -> [Element] {
        var seen = Set<Element>()
        return filter { seen.insert($0).inserted }
    }
}
