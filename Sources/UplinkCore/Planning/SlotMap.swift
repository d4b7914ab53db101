/// A balancing decision over weighted members as one verdict map: the balance mode's generator
/// (`numgen inc`, `numgen random` or `jhash` of the two addresses) keys slot k → the chain of
/// the k-th member of the smooth weighted cycle. Random and hash draw the same map uniformly,
/// so each member gets exactly its share of slots. A dead member's slots go to the live ones
/// and the map keeps its size, so no live member's connections move. Uplinks and service
/// backends are balanced alike.
struct SlotMap {
    let name: String
    let key: NftMapKey
    let map: NftVerdictMap

    /// `members`: each one's weight, the chain its slots go to, and whether it is in the rotation.
    init(name: String, balance: BalanceMode, family: IPFamily, members: [(weight: Int, chain: String, live: Bool)]) {
        let weights = reducedWeights(members.map(\.weight))
        let total = UInt32(weights.reduce(0, +))
        switch balance {
        case .nth: key = .numberGenerator(.inc, modulus: total)
        case .random: key = .numberGenerator(.random, modulus: total)
        case .hash, .ecmp: key = .addressHash(family, modulus: total, seed: NftPlanner.hashSeed)
        }
        let live = Set(members.indices.filter { members[$0].live })
        let order = repointedSlotOrder(smoothSlotOrder(weights: weights), weights: weights, live: live)
        self.name = name
        map = NftVerdictMap(
            name: name, typeof: key,
            elements: order.enumerated().map { slot, index in
                .init(key: UInt32(slot), verdict: .goto(members[index].chain))
            })
    }

    /// The rule that looks the slot up.
    var rule: NftRule { NftRule([], [], .lookup(key, map: name)) }
}
