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
    public var prefixes: [IPPrefix] {
        var result: [IPPrefix] = []
        var start = first
        let bits = first.count * 8
        while true {
            // The longest block that starts at `start` and does not pass `last`.
            var length = bits
            while length > 0 {
                let candidate = AddressRange(IPPrefix(address: IPAddress(bytes: start)!, length: length - 1)!)
                guard candidate.first == start, !last.lexicographicallyPrecedes(candidate.last) else { break }
                length -= 1
            }
            let block = IPPrefix(address: IPAddress(bytes: start)!, length: length)!
            result.append(block)
            let blockLast = AddressRange(block).last
            guard blockLast != last, let next = Self.increment(blockLast) else { return result }
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
