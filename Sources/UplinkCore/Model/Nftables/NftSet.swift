/// A named set that rules look things up in.
public struct NftSet: Sendable, Hashable, Codable {
    public enum ElementType: String, Sendable, Hashable, Codable {
        /// `ipv4_addr` with `flags interval`: addresses and prefixes.
        case ipv4Prefixes
        /// `ipv6_addr` with `flags interval`.
        case ipv6Prefixes
        /// `ifname`: interface names.
        case interfaceNames
    }

    public enum Element: Sendable, Hashable, Codable, Comparable {
        case prefix(IPPrefix)
        case interfaceName(String)

        public static func < (a: Element, b: Element) -> Bool {
            switch (a, b) {
            case let (.prefix(x), .prefix(y)): return x < y
            case let (.interfaceName(x), .interfaceName(y)): return x < y
            case (.prefix, .interfaceName): return true
            case (.interfaceName, .prefix): return false
            }
        }
    }

    public var name: String
    public var type: ElementType
    /// Sorted, without repeats.
    public var elements: [Element]

    public init(name: String, type: ElementType, elements: [Element]) {
        self.name = name
        self.type = type
        self.elements = Array(Set(elements)).sorted()
    }
}
