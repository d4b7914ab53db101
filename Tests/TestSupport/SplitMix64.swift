/// A small deterministic random number generator (SplitMix64, as in Java's SplittableRandom):
/// the random configs depend on their seed alone, never on the system's random numbers, so a
/// seed printed by a failing run makes the same config again. The helpers below are written
/// out rather than taken from the standard library, whose algorithms may change between releases
/// (SlotOrderTests uses it through the standard library's `random(in:using:)`).
public struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }

    /// Uniform in `range` (the modulo bias is below 2^-40 for the small ranges used here).
    mutating func int(_ range: ClosedRange<Int>) -> Int {
        let span = UInt64(range.upperBound - range.lowerBound) + 1
        return range.lowerBound + Int(next() % span)
    }

    /// True with probability `p`.
    mutating func chance(_ p: Double) -> Bool {
        Double(next() >> 11) / Double(UInt64(1) << 53) < p
    }

    mutating func pick<T>(_ items: [T]) -> T {
        items[int(0...(items.count - 1))]
    }

    /// Fisher-Yates.
    mutating func shuffled<T>(_ items: [T]) -> [T] {
        var result = items
        for index in result.indices.reversed() where index > 0 {
            result.swapAt(index, int(0...index))
        }
        return result
    }

    /// `count` distinct elements of `items` (all of them if there are fewer), in a random order.
    mutating func some<T>(_ items: [T], count: Int) -> [T] {
        Array(shuffled(items).prefix(count))
    }
}
