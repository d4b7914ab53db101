/// A value under a mask, as `fwmark 0x100/0xff00` and `--set-xmark 0x100/0xff00` write it:
/// only the bits of `mask` are looked at or changed.
public struct MarkedBits: Sendable, Hashable, Codable, CustomStringConvertible {
    public let value: UInt32
    public let mask: UInt32

    public init(value: UInt32, mask: UInt32) {
        precondition(value & ~mask == 0, "mark value outside its mask")
        self.value = value
        self.mask = mask
    }

    public var description: String { "\(hex(value))/\(hex(mask))" }
}

/// `0x1f` style, the way ip and iptables print marks.
public func hex(_ value: UInt32) -> String { "0x" + String(value, radix: 16) }

/// The `index`-th non-zero value (1-based) that fits inside `mask`: the bits of `index`
/// deposited into the positions of the mask's set bits, lowest first. For a contiguous mask
/// such as 0xff00 this is `index << 8`; any mask works.
public func depositBits(_ index: UInt32, into mask: UInt32) -> UInt32? {
    var result: UInt32 = 0
    var remaining = index
    var bit: UInt32 = 1
    while remaining != 0 {
        guard bit != 0 else { return nil }
        if mask & bit != 0 {
            if remaining & 1 != 0 { result |= bit }
            remaining >>= 1
        }
        bit = bit &<< 1
    }
    return result
}
