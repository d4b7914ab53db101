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
        self.elements = Self.canonical(elements)
    }

    /// Sorted, without repeats; prefixes joined where they overlap or touch and split into the
    /// fewest prefixes, which is also how they read back from the kernel's interval set.
    static func canonical(_ elements: [Element]) -> [Element] {
        var prefixes: [IPFamily: [IPPrefix]] = [:]
        var names: Set<String> = []
        for element in elements {
            switch element {
            case .prefix(let prefix): prefixes[prefix.family, default: []].append(prefix)
            case .interfaceName(let name): names.insert(name)
            }
        }
        let joined = prefixes.values.flatMap { AddressRange.merged($0).flatMap(\.prefixes) }
        return (joined.map(Element.prefix) + names.map(Element.interfaceName)).sorted()
    }
}
