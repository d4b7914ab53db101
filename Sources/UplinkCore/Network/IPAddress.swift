#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The address family of an object: rules, routes and addresses exist once per family.
public enum IPFamily: String, Sendable, Hashable, Codable, CaseIterable, Comparable {
    case ipv4, ipv6

    /// The `AF_*` number, as netlink carries it.
    public var addressFamily: Int32 { self == .ipv4 ? AF_INET : AF_INET6 }
    public var bitCount: Int { self == .ipv4 ? 32 : 128 }

    public static func < (a: IPFamily, b: IPFamily) -> Bool { a == .ipv4 && b == .ipv6 }
}

/// An IPv4 or IPv6 address, kept as its network-order bytes.
public struct IPAddress: Sendable, Hashable, Codable, Comparable, CustomStringConvertible {
    public let family: IPFamily
    public let bytes: [UInt8]

    public init?(bytes: [UInt8]) {
        switch bytes.count {
        case 4: family = .ipv4
        case 16: family = .ipv6
        default: return nil
        }
        self.bytes = bytes
    }

    /// Parses the textual forms `inet_pton` accepts (dotted quad, RFC 4291 text); nothing looser.
    public init?(_ text: String) {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            self.init(bytes: withUnsafeBytes(of: &v4) { Array($0) })
            return
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 {
            self.init(bytes: withUnsafeBytes(of: &v6) { Array($0) })
            return
        }
        return nil
    }

    /// Bytes of the family's length, as only this type's own code makes them.
    private init(family: IPFamily, bytes: [UInt8]) {
        self.family = family
        self.bytes = bytes
    }

    public static func zero(_ family: IPFamily) -> IPAddress {
        IPAddress(family: family, bytes: [UInt8](repeating: 0, count: family.bitCount / 8))
    }

    /// 127.0.0.1 and ::1.
    public static func loopback(_ family: IPFamily) -> IPAddress {
        family == .ipv4
            ? IPAddress(family: family, bytes: [127, 0, 0, 1])
            : IPAddress(family: family, bytes: [UInt8](repeating: 0, count: 15) + [1])
    }

    /// The first (`filled` false) or last address of the prefix of `length` bits holding this one.
    func masked(to length: Int, filled: Bool = false) -> IPAddress {
        IPAddress(
            family: family,
            bytes: bytes.enumerated().map { index, byte in
                let bitsKept = min(max(length - index * 8, 0), 8)
                let hostBits = bitsKept == 8 ? 0 : UInt8(0xff) >> bitsKept
                return filled ? byte | hostBits : byte & ~hostBits
            })
    }

    /// The address after this one, or nil after the family's last.
    var next: IPAddress? {
        AddressRange.increment(bytes).map { IPAddress(family: family, bytes: $0) }
    }

    public var description: String {
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        var copy = bytes
        _ = inet_ntop(family.addressFamily, &copy, &buffer, socklen_t(buffer.count))
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    public static func < (a: IPAddress, b: IPAddress) -> Bool {
        a.family != b.family ? a.family < b.family : a.bytes.lexicographicallyPrecedes(b.bytes)
    }
}

extension IPAddress {
    /// fe80::/10 and 169.254.0.0/16.
    public var isLinkLocal: Bool {
        family == .ipv6 ? bytes[0] == 0xfe && bytes[1] & 0xc0 == 0x80 : bytes[0] == 169 && bytes[1] == 254
    }
}
