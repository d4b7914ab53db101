import TestSupport
import Testing

@testable import UplinkCore

/// Random weight vectors: 1 to 8 uplinks, weights 1 to 20, the same every run (Tests/TestSupport/SplitMix64.swift).
private func randomWeightVectors(count: Int, seed: UInt64 = 0x5107_0DE5) -> [[Int]] {
    var generator = SplitMix64(seed: seed)
    return (0..<count).map { _ in
        let uplinks = Int.random(in: 1...8, using: &generator)
        return (0..<uplinks).map { _ in Int.random(in: 1...20, using: &generator) }
    }
}

private func occurrences(_ order: [Int], of index: Int) -> Int { order.lazy.filter { $0 == index }.count }

@Suite("Slot order")
struct SlotOrderTests {
    // MARK: Goldens

    @Test func twoOneOneAlternatesTheHeavyUplink() {
        #expect(smoothSlotOrder(weights: [2, 1, 1]) == [0, 1, 0, 2])
    }

    @Test func threeTwoOne() {
        #expect(smoothSlotOrder(weights: [3, 2, 1]) == [0, 1, 0, 1, 0, 2])
    }

    @Test func equalWeightsGoInSlotOrder() {
        #expect(smoothSlotOrder(weights: [1, 1, 1]) == [0, 1, 2])
        #expect(smoothSlotOrder(weights: [1]) == [0])
    }

    @Test func twoOneOneNeverRepeatsAnUplinkEvenAcrossCycles() {
        let order = smoothSlotOrder(weights: [2, 1, 1])
        for slot in order.indices {
            #expect(
                order[slot] != order[(slot + 1) % order.count],
                "slot \(slot) and the next take the same uplink in \(order)")
        }
    }

    // MARK: Properties

    static let vectors = randomWeightVectors(count: 3000)

    @Test func oneCycleHoldsEachUplinkExactlyItsWeight() {
        for weights in Self.vectors {
            let order = smoothSlotOrder(weights: weights)
            #expect(order.count == weights.reduce(0, +), "weights \(weights)")
            for (index, weight) in weights.enumerated() where occurrences(order, of: index) != weight {
                let count = occurrences(order, of: index)
                Issue.record("weights \(weights): uplink \(index) appears \(count) times, not \(weight), in \(order)")
            }
        }
    }

    /// After every prefix of t slots, each uplink is less than one connection from t·w_i/W:
    /// |count·W − t·w_i| < W, in integers.
    @Test func everyPrefixStaysWithinOneOfTheExactShare() {
        for weights in Self.vectors {
            let total = weights.reduce(0, +)
            let order = smoothSlotOrder(weights: weights)
            var counts = [Int](repeating: 0, count: weights.count)
            var failed = false
            for (slot, index) in order.enumerated() where !failed {
                counts[index] += 1
                let t = slot + 1
                for (uplink, weight) in weights.enumerated() where abs(counts[uplink] * total - t * weight) >= total {
                    Issue.record(
                        Comment(
                            rawValue: "weights \(weights): after \(t) slots uplink \(uplink) has "
                                + "\(counts[uplink]), exact share \(t * weight)/\(total); order \(order)"))
                    failed = true
                    break
                }
            }
        }
    }

    @Test func orderIsDeterministic() {
        for weights in Self.vectors.prefix(200) {
            #expect(smoothSlotOrder(weights: weights) == smoothSlotOrder(weights: weights))
        }
    }

    // MARK: reducedWeights

    @Test func reducedWeightsDivideByTheCommonDivisor() {
        #expect(reducedWeights([100, 50]) == [2, 1])
        #expect(reducedWeights([6, 4, 2]) == [3, 2, 1])
        #expect(reducedWeights([5, 5, 5]) == [1, 1, 1])
        #expect(reducedWeights([7]) == [1])
        #expect(reducedWeights([1000, 1000]) == [1, 1])
    }

    @Test func coprimeWeightsStay() {
        #expect(reducedWeights([2, 1, 1]) == [2, 1, 1])
        #expect(reducedWeights([3, 2]) == [3, 2])
        #expect(reducedWeights([4, 6, 9]) == [4, 6, 9])
        #expect(reducedWeights([1]) == [1])
    }

    @Test func reducedWeightsKeepTheRatios() {
        for weights in Self.vectors {
            let reduced = reducedWeights(weights)
            let factor = weights[0] / reduced[0]
            #expect(weights[0] % reduced[0] == 0)
            #expect(reduced.map { $0 * factor } == weights, "weights \(weights) reduced to \(reduced)")
            // Nothing further to divide out.
            #expect(reduced.reduce(0) { gcd($0, $1) } == 1, "weights \(weights) reduced to \(reduced)")
        }
    }

    // MARK: cascadedProbabilities

    /// Uplink i is reached with probability Π_{j<i}(1 − p_j), then taken with p_i: overall w_i/W.
    @Test func cascadeGivesEachUplinkItsShare() {
        for weights in Self.vectors + [[2, 1, 1], [1], [1000, 1, 999]] {
            let total = Double(weights.reduce(0, +))
            let probabilities = cascadedProbabilities(weights: weights)
            #expect(probabilities.count == weights.count)
            #expect(probabilities.last == 1.0, "the last uplink takes what is left: \(probabilities)")
            var reach = 1.0
            for (index, probability) in probabilities.enumerated() {
                #expect(probability > 0 && probability <= 1)
                let share = reach * probability
                let exact = Double(weights[index]) / total
                #expect(abs(share - exact) < 1e-12, "weights \(weights): uplink \(index) gets \(share), not \(exact)")
                reach *= 1 - probability
            }
            #expect(abs(reach) < 1e-12, "weights \(weights): \(reach) of connections fall through the cascade")
        }
    }

    /// The same in exact rationals: p_i = w_i / R_i with R_i the weights not yet passed, so
    /// 1 − p_i = R_{i+1}/R_i and the product telescopes to w_i / W.
    @Test func cascadeIsExactInRationals() {
        for weights in Self.vectors {
            let total = weights.reduce(0, +)
            var remaining = total
            // reach = numerator/denominator, kept as integers.
            var reachNumerator = 1
            var reachDenominator = 1
            for (index, probability) in cascadedProbabilities(weights: weights).enumerated() {
                #expect(
                    probability == Double(weights[index]) / Double(remaining), "weights \(weights), uplink \(index)")
                // share = reach · w_i / R_i; share == w_i / W  ⇔  reachN · w_i · W == reachD · R_i · w_i.
                #expect(reachNumerator * weights[index] * total == reachDenominator * remaining * weights[index])
                reachNumerator *= remaining - weights[index]
                reachDenominator *= remaining
                let divisor = gcd(reachNumerator, reachDenominator)
                reachNumerator /= divisor == 0 ? 1 : divisor
                reachDenominator /= divisor == 0 ? 1 : divisor
                remaining -= weights[index]
            }
            #expect(reachNumerator == 0)
        }
    }

    // MARK: The planner's slots map

    @Test(arguments: [BalanceMode.nth, .random])
    func slotsMapHoldsEachUplinkItsReducedWeight(mode: BalanceMode) throws {
        for (number, weights) in (Self.vectors.prefix(300) + [[100, 50], [2, 1, 1]]).enumerated() {
            let config = Self.config(mode: mode, weights: weights)
            let state = Planner.plan(config)
            let reduced = reducedWeights(weights)
            let total = reduced.reduce(0, +)
            let slots = try #require(state.nftables.map(named: NftPlanner.slotsMap(.ipv4)), "config \(number)")
            #expect(slots.typeof == .numberGenerator(mode == .nth ? .inc : .random, modulus: UInt32(total)))
            #expect(slots.elements.map(\.key) == (0..<UInt32(total)).map { [.number($0)] }, "weights \(weights)")
            for (index, uplink) in config.uplinks.enumerated() {
                let chain = "new-\(uplink.name)"
                let held = slots.elements.filter { $0.verdict == .goto(chain) }.count
                #expect(
                    held == reduced[index], "weights \(weights): \(chain) holds \(held) slots, not \(reduced[index])")
                #expect(state.uplinks[index].slots == reduced[index])
            }
            // The slots are laid out in the smooth order.
            let order = slots.elements.map { element in
                config.uplinks.firstIndex { .goto("new-\($0.name)") == element.verdict }!
            }
            #expect(order == smoothSlotOrder(weights: reduced))
        }
    }

    @Test func randomIptablesCascadeUsesTheSlotShares() {
        let config = Self.config(mode: .random, weights: [2, 1, 1])
        let commands = IptablesTranslation(Planner.plan(config).nftables).commands()
        let balance = commands.filter { $0.contains("UPL-balance-v4") && $0.contains("-A") && $0.contains("-g") }
            .filter { $0.contains(where: { $0.hasPrefix("UPL-new-") }) }
        let probabilities = balance.map { command in command.firstIndex(of: "--probability").map { command[$0 + 1] } }
        #expect(probabilities == ["0.5000000000", "0.5000000000", nil], "\(balance)")
        #expect(balance.map { $0.last } == ["UPL-new-u0", "UPL-new-u1", "UPL-new-u2"])
    }

    static func config(mode: BalanceMode, weights: [Int]) -> Config {
        Config(
            balance: mode,
            uplinks: weights.enumerated().map { index, weight in
                Uplink(
                    name: "u\(index)", interface: "eth\(index)", gateways: [IPAddress("198.18.\(index).1")!],
                    weight: weight,
                    mark: UInt32(index + 1) << 8, table: UInt32(110 + index), masquerade: true)
            })
    }
}

private func gcd(_ a: Int, _ b: Int) -> Int { b == 0 ? abs(a) : gcd(b, a % b) }
