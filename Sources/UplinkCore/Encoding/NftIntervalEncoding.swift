/// How an interval set or map holds its ranges, the way nft writes them: a start element, and an
/// end element one past the range's last key; a new set or map begins with an end element at the
/// zero key; a range that runs to the last key has no end, and its start says so in its userdata.
/// A map's element keeps its verdict on the start.
enum NftIntervalEncoding {
    /// One range: its first and last key, inclusive; a map element's verdict.
    struct Interval: Sendable, Hashable {
        var first: [UInt8]
        var last: [UInt8]
        var verdict: NftVerdict?
    }

    /// `startingEmpty`: a new set or map. nft adds to or deletes from an existing one without the
    /// leading end element.
    static func elements(_ intervals: [Interval], startingEmpty: Bool) -> [NftSetElement] {
        var result: [NftSetElement] = []
        if startingEmpty, let first = intervals.first?.first, first.contains(where: { $0 != 0 }) {
            result.append(NftSetElement(key: [UInt8](repeating: 0, count: first.count), intervalEnd: true))
        }
        for interval in intervals {
            if let end = AddressRange.increment(interval.last) {
                result.append(NftSetElement(key: interval.first, verdict: interval.verdict))
                result.append(NftSetElement(key: end, intervalEnd: true))
            } else {
                // No end: its start says the range is open.
                let userdata = NftUserdata.openInterval
                result.append(NftSetElement(key: interval.first, verdict: interval.verdict, userdata: userdata))
            }
        }
        return result
    }

    /// Boundaries back into ranges, in whatever order the kernel lists them: each start runs to one
    /// before the end element that follows it, or, when marked open, to the last key. Nil for
    /// elements nft would not write.
    static func intervals(_ elements: [NftSetElement]) -> [Interval]? {
        let sorted = elements.sorted {
            $0.key.lexicographicallyPrecedes($1.key) || ($0.key == $1.key && $0.intervalEnd && !$1.intervalEnd)
        }
        var result: [Interval] = []
        var open: NftSetElement?
        for element in sorted {
            guard element.keyEnd == nil else { return nil }
            if element.intervalEnd {
                guard element.verdict == nil else { return nil }
                guard let start = open else {
                    // Only nft's leading end at the zero key stands alone.
                    guard element.key.allSatisfy({ $0 == 0 }) else { return nil }
                    continue
                }
                guard let last = AddressRange.decrement(element.key) else { return nil }
                result.append(Interval(first: start.key, last: last, verdict: start.verdict))
                open = nil
            } else if open != nil {
                return nil
            } else if element.userdata == NftUserdata.openInterval {
                let last = [UInt8](repeating: 0xff, count: element.key.count)
                result.append(Interval(first: element.key, last: last, verdict: element.verdict))
            } else {
                guard element.userdata == nil else { return nil }
                open = element
            }
        }
        return open == nil ? result : nil
    }
}
