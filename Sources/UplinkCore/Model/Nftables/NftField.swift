/// One packet field a set or verdict map is keyed by. A key of several fields is their
/// concatenation (`ip daddr . meta l4proto . th dport`), looked up at once.
public enum NftField: Sendable, Hashable, Codable {
    /// `iifname`.
    case inputInterfaceName
    /// `ip saddr` / `ip6 saddr`.
    case source(IPFamily)
    /// `ip daddr` / `ip6 daddr`.
    case destination(IPFamily)
    /// `meta l4proto`.
    case transportProtocol
    /// `th sport`: only behind a `meta l4proto` of tcp or udp in the same key.
    case sourcePort
    /// `th dport`.
    case destinationPort

    /// Addresses and ports are looked up as ranges (prefixes, port ranges).
    public var isRange: Bool {
        switch self {
        case .source, .destination, .sourcePort, .destinationPort: return true
        case .inputInterfaceName, .transportProtocol: return false
        }
    }
}

/// One field's part of a key: a single value, or a range of them.
public enum NftFieldValue: Sendable, Hashable, Codable, Comparable {
    /// A mark, a slot number: the whole key of a single-field numeric map.
    case number(UInt32)
    case interfaceName(String)
    /// An address is a prefix of full length.
    case prefix(IPPrefix)
    case transportProtocol(UInt8)
    case ports(PortRange)

    public static func < (a: NftFieldValue, b: NftFieldValue) -> Bool {
        switch (a, b) {
        case (.number(let x), .number(let y)): return x < y
        case (.interfaceName(let x), .interfaceName(let y)): return x < y
        case (.prefix(let x), .prefix(let y)): return x < y
        case (.transportProtocol(let x), .transportProtocol(let y)): return x < y
        case (.ports(let x), .ports(let y)): return x < y
        default: return a.order < b.order
        }
    }

    private var order: Int {
        switch self {
        case .number: return 0
        case .interfaceName: return 1
        case .prefix: return 2
        case .transportProtocol: return 3
        case .ports: return 4
        }
    }
}

extension Array where Element == NftFieldValue {
    /// The number of a single-field numeric key.
    public var number: UInt32? {
        if count == 1, case .number(let value) = self[0] { return value }
        return nil
    }
}
