/// An address with a prefix length: `198.18.0.0/15`, `0.0.0.0/0`, `2001:2::/48`.
/// The host bits are always zero, so equal networks compare equal.
public struct IPPrefix: Sendable, Hashable, Codable, Comparable, CustomStringConvertible {
    public let address: IPAddress
    public let length: Int

    public var family: IPFamily { address.family }

    public init?(address: IPAddress, length: Int) {
        guard (0...address.family.bitCount).contains(length) else { return nil }
        self.init(network: address, length: length)
    }

    /// `length` within the family's bits.
    private init(network address: IPAddress, length: Int) {
        self.address = address.masked(to: length)
        self.length = length
    }

    /// The address alone: `/32` or `/128`.
    public init(host address: IPAddress) {
        self.init(network: address, length: address.family.bitCount)
    }

    /// `ADDRESS/LENGTH`, or a bare address meaning a host prefix. Host bits must be zero:
    /// `10.0.0.1/24` is refused rather than silently widened.
    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2, let address = IPAddress(String(parts[0])) else { return nil }
        var length = address.family.bitCount
        if parts.count == 2 {
            guard let value = Int(parts[1]), String(value) == parts[1] else { return nil }
            length = value
        }
        guard let prefix = IPPrefix(address: address, length: length), prefix.address == address else { return nil }
        self = prefix
    }

    public static func defaultRoute(_ family: IPFamily) -> IPPrefix {
        IPPrefix(network: .zero(family), length: 0)
    }

    /// 127.0.0.0/8 and ::1.
    public static func loopback(_ family: IPFamily) -> IPPrefix {
        IPPrefix(network: .loopback(family), length: family == .ipv4 ? 8 : 128)
    }

    /// The prefix one bit shorter, or nil for a default route.
    var widened: IPPrefix? { length > 0 ? IPPrefix(network: address, length: length - 1) : nil }

    /// Its last address (all host bits set).
    var lastAddress: IPAddress { address.masked(to: length, filled: true) }

    public var isDefault: Bool { length == 0 }

    public func contains(_ address: IPAddress) -> Bool {
        address.family == family && address.masked(to: length) == self.address
    }

    /// `default`, a host address without `/32`, or `NETWORK/LENGTH`: the way `ip` prints it.
    public var description: String {
        length == family.bitCount ? address.description : "\(address)/\(length)"
    }

    public static func < (a: IPPrefix, b: IPPrefix) -> Bool {
        a.address != b.address ? a.address < b.address : a.length < b.length
    }
}
