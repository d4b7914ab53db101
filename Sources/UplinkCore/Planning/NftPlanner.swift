/// Plans the `inet uplinkctl` table. IPv4 only for now: the jumps into `balance` and the
/// masquerade rules match `meta nfproto ipv4`, so IPv6 traffic passes untouched.
///
/// Packet path: both hooks jump to `balance`. A packet of a known connection finds its uplink
/// through `known` (conntrack mark → `via-NAME`, which stamps the packet mark). A new connection
/// takes the next slot of `slots` (numgen → `new-NAME`, which stamps the conntrack mark, then
/// `via-NAME`). Only bits of the mark mask change: a map from the masked value to a fixed setter
/// per uplink needs no two-register bitwise operation, so every nf_tables kernel runs it.
struct NftPlanner {
    let config: Config
    let uplinks: [PlannedUplink]

    static let balanceChain = "balance"
    static let knownMap = "known"
    static let slotsMap = "slots"
    static let neverBalancedSet = "never-balanced-v4"
    static let uplinkInterfacesSet = "uplink-interfaces"

    func table() -> NftTable {
        var sets = [NftSet(name: Self.neverBalancedSet, type: .ipv4Prefixes, elements: Planner.neverBalancedIPv4.map { .prefix($0) })]
        var chains = uplinks.map(viaChain) + uplinks.map(newConnectionChain) + [balanceChain()]
        if config.traffic.contains(.local) {
            chains.append(NftChain(name: "output", hook: NftHook(type: .route, point: .output, priority: NftHook.manglePriority),
                                   rules: [NftRule([.family(.ipv4)], [], .jump(Self.balanceChain))]))
        }
        if config.traffic.contains(.forwarded) {
            sets.append(NftSet(name: Self.uplinkInterfacesSet, type: .interfaceNames, elements: uplinks.map { .interfaceName($0.uplink.interface) }))
            chains.append(NftChain(name: "prerouting", hook: NftHook(type: .filter, point: .prerouting, priority: NftHook.manglePriority), rules: [
                // Arriving from the outside: not ours to balance (replies find their way by conntrack).
                NftRule([.inputInterfaceInSet(set: Self.uplinkInterfacesSet)], [], .return),
                // Addressed to this host: input, not forwarding.
                NftRule([.destinationIsLocal], [], .return),
                NftRule([.family(.ipv4)], [], .jump(Self.balanceChain)),
            ]))
        }
        let masquerading = uplinks.filter(\.uplink.masquerade).map(\.uplink.interface).uniqued()
        if !masquerading.isEmpty {
            chains.append(NftChain(name: "postrouting", hook: NftHook(type: .nat, point: .postrouting, priority: NftHook.srcnatPriority),
                                   rules: masquerading.map { NftRule([.family(.ipv4), .outputInterface($0)], [.masquerade]) }))
        }
        return NftTable(
            counters: uplinks.map(\.connectionCounter),
            sets: sets,
            maps: [knownMap(), slotsMap()],
            chains: chains
        )
    }

    private var mask: UInt32 { config.markMask }

    private func bits(_ uplink: PlannedUplink) -> MarkedBits { MarkedBits(value: uplink.uplink.mark, mask: mask) }

    static func viaChainName(_ uplink: PlannedUplink) -> String { "via-\(uplink.uplink.name)" }
    static func newChainName(_ uplink: PlannedUplink) -> String { "new-\(uplink.uplink.name)" }

    private func viaChain(_ uplink: PlannedUplink) -> NftChain {
        NftChain(name: Self.viaChainName(uplink), rules: [
            // No per-packet counter: the interface's own statistics say what the uplink carried.
            NftRule([], [.setPacketMark(bits(uplink))]),
        ])
    }

    private func newConnectionChain(_ uplink: PlannedUplink) -> NftChain {
        NftChain(name: Self.newChainName(uplink), rules: [
            NftRule([], [.setConnectionMark(bits(uplink)), .count(counter: uplink.connectionCounter)], .goto(Self.viaChainName(uplink))),
        ])
    }

    private func balanceChain() -> NftChain {
        NftChain(name: Self.balanceChain, rules: [
            NftRule([], [], .map(.connectionMark(mask: mask), map: Self.knownMap)),
            // Connections that predate uplinkctl keep their route: moving them would break them.
            NftRule([.connectionNotNew], [], .return),
            NftRule([.destinationInSet(.ipv4, set: Self.neverBalancedSet)], [], .return),
            NftRule([], [], .map(.numberGenerator(numberGenerator, modulus: UInt32(totalSlots)), map: Self.slotsMap)),
        ])
    }

    private var numberGenerator: NumberGenerator {
        switch config.balance {
        case .nth: return .inc
        case .random: return .random
        }
    }

    private var totalSlots: Int { uplinks.map(\.slots).reduce(0, +) }

    private func knownMap() -> NftVerdictMap {
        NftVerdictMap(name: Self.knownMap, typeof: .connectionMark,
                      elements: uplinks.map { .init(key: $0.uplink.mark, verdict: .goto(Self.viaChainName($0))) })
    }

    /// Slot k → the uplink of the k-th connection in the cycle. Random draws the same map
    /// uniformly, so each uplink gets exactly its share of slots.
    private func slotsMap() -> NftVerdictMap {
        let order = smoothSlotOrder(weights: uplinks.map(\.slots))
        return NftVerdictMap(name: Self.slotsMap, typeof: .numberGenerator(numberGenerator, modulus: UInt32(totalSlots)),
                             elements: order.enumerated().map { slot, index in
                                 .init(key: UInt32(slot), verdict: .goto(Self.newChainName(uplinks[index])))
                             })
    }
}

extension Array where Element: Hashable {
    /// The elements in order, each only the first time it appears.
    func uniqued() -> [Element] {
        var seen = Set<Element>()
        return filter { seen.insert($0).inserted }
    }
}
