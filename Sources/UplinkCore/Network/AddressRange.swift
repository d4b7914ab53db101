/// A closed range of addresses of one family, in network byte order: what an nftables
/// interval set holds. Prefixes go in; the kernel gives ranges back; `prefixes` turns them
/// into the fewest prefixes, so a set reads back exactly as it was planned.
public struct AddressRange: Sendable, Hashable {
    public var first: [UInt8]
    public var last: [UInt8]

    public init(first: [UInt8], last: [UInt8]) {
        self.first = first
        self.last = last
    }

    public init(_ prefix: IPPrefix) {
        let bytes = prefix.address.bytes
        first = bytes
        last = bytes.enumerated().map { index, byte in
            let hostBits = max(0, min(8, (index + 1) * 8 - prefix.length))
            return byte | UInt8(truncatingIfNeeded: (1 << hostBits) - 1)
        }
    }

    /// Sorted, with overlapping and adjacent ranges joined.
    public static func merged(_ prefixes: [IPPrefix]) -> [AddressRange] {
        var result: [AddressRange] = []
        for range in prefixes.map(AddressRange.init).sorted(by: { $0.first.lexicographicallyPrecedes($1.first) }) {
            guard let previous = result.last else {
                result.append(range)
                continue
            }
            // Joins when it starts at most one address after the previous range ends.
            let touches = increment(previous.last).map { !$0.lexicographicallyPrecedes(range.first) } ?? true
            if !touches {
                result.append(range)
            } else if previous.last.lexicographicallyPrecedes(range.last) {
                result[result.count - 1].last = range.last
            }
        }
        return result
    }

    /// The fewest prefixes that cover exactly this range.
    /// None when the bounds are not addresses of one family.
    public var prefixes: [IPPrefix] {
        guard var start = IPAddress(bytes: first), IPAddress(bytes: last)?.family == start.family else { return [] }
        var result: [IPPrefix] = []
        while true {
            // The widest block that starts at `start` and does not pass `last`.
            var block = IPPrefix(host: start)
            while let wider = block.widened, wider.address == start,
                !last.lexicographicallyPrecedes(wider.lastAddress.bytes)
            {
                block = wider
            }
            result.append(block)
            guard block.lastAddress.bytes != last, let next = block.lastAddress.next else { return result }
            start = next
        }
    }

    /// The next address, or nil after the last one.
    public static func increment(_ bytes: [UInt8]) -> [UInt8]? {
        var result = bytes
        for index in result.indices.reversed() {
            if result[index] == 0xff {
                result[index] = 0
            } else {
                result[index] += 1
                return result
            }
        }
        return nil
    }

    /// The previous address, or nil before the first one.
    public static func decrement(_ bytes: [UInt8]) -> [UInt8]? {
        var result = bytes
        for index in result.indices.reversed() {
            if result[index] == 0 {
                result[index] = 0xff
            } else {
                result[index] -= 1
                return result
            }
        }
        return nil
    }
}
