/// The order in which round-robin hands out uplinks: one cycle of W = sum of weights slots,
/// where uplink i holds exactly w_i of them, spread as evenly as possible.
///
/// Earliest deadline first over ideal positions: uplink i's j-th turn is due by (j+1)·W/w_i and
/// may not start before j·W/w_i; ties go to the heavier uplink, then to slot order. After every
/// prefix of t connections each uplink is less than one connection away from its exact share
/// t·w_i/W. Weights 2:1:1 give A B A C, so A never comes twice in a row, not even across cycles.
public func smoothSlotOrder(weights: [Int]) -> [Int] {
    precondition(weights.allSatisfy { $0 > 0 }, "weights must be positive")
    let total = weights.reduce(0, +)
    var turnsTaken = [Int](repeating: 0, count: weights.count)
    var order: [Int] = []
    order.reserveCapacity(total)
    for time in 0..<total {
        // Released: j·W/w ≤ time, compared without division.
        let released = weights.indices.filter {
            turnsTaken[$0] < weights[$0] && turnsTaken[$0] * total <= time * weights[$0]
        }
        let earliest = released.min { precedes($0, $1, weights: weights, taken: turnsTaken) }
        guard let chosen = earliest else {
            preconditionFailure("EDF is exact at full utilisation: some uplink is always released")
        }
        order.append(chosen)
        turnsTaken[chosen] += 1
    }
    return order
}

/// Whether uplink `a`'s next turn is due before `b`'s: (j_a+1)·W/w_a < (j_b+1)·W/w_b.
private func precedes(_ a: Int, _ b: Int, weights: [Int], taken: [Int]) -> Bool {
    let dueA = (taken[a] + 1) * weights[b]
    let dueB = (taken[b] + 1) * weights[a]
    if dueA != dueB { return dueA < dueB }
    if weights[a] != weights[b] { return weights[a] > weights[b] }
    return a < b
}

/// Weights divided by their greatest common divisor: 100:50 and 2:1 balance alike, with fewer slots.
public func reducedWeights(_ weights: [Int]) -> [Int] {
    let divisor = weights.reduce(0, greatestCommonDivisor)
    return divisor > 1 ? weights.map { $0 / divisor } : weights
}

private func greatestCommonDivisor(_ a: Int, _ b: Int) -> Int { b == 0 ? a : greatestCommonDivisor(b, a % b) }

/// For `random` as cascaded iptables rules: uplink i is taken with probability
/// w_i / (sum of the weights not yet passed), so that overall it gets exactly w_i / W.
public func cascadedProbabilities(weights: [Int]) -> [Double] {
    var remaining = weights.reduce(0, +)
    return weights.map { weight in
        defer { remaining -= weight }
        return Double(weight) / Double(remaining)
    }
}

/// `order` (a slot order over members with `weights`) with the slots of dead members handed
/// to the live ones: every live member keeps each slot it had, and the dead members' slots, in
/// slot order, go to the live members in their own smooth order by weight. The map keeps its
/// size, so no connection of a live member changes uplink (with `hash`, only the dead members'
/// address pairs move). With no live member it is unchanged: there is nothing better to route to.
public func repointedSlotOrder(_ order: [Int], weights: [Int], live: Set<Int>) -> [Int] {
    let survivors = weights.indices.filter(live.contains)
    guard !survivors.isEmpty, survivors.count < weights.count else { return order }
    let refill = smoothSlotOrder(weights: reducedWeights(survivors.map { weights[$0] })).map { survivors[$0] }
    var next = 0
    return order.map { member in
        if live.contains(member) { return member }
        defer { next += 1 }
        return refill[next % refill.count]
    }
}
