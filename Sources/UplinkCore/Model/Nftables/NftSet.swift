/// A named set that rules look things up in: addresses and prefixes, or interface names.
public struct NftSet: Sendable, Hashable, Codable {
    public enum ElementType: String, Sendable, Hashable, Codable {
        /// `ipv4_addr` with `flags interval`: addresses and prefixes.
        case ipv4Prefixes
        /// `ipv6_addr` with `flags interval`.
        case ipv6Prefixes
        /// `ifname`: what `oifname` is compared with.
        case interfaceNames
        /// `typeof fib daddr . mark oifname`: the same names, typed as nft types the result of a
        /// route lookup (a string, which nft will not compare with an `ifname` set).
        case routeInterfaceNames
    }

    public enum Element: Sendable, Hashable, Codable, Comparable {
        case prefix(IPPrefix)
        case interfaceName(String)

        public static func < (a: Element, b: Element) -> Bool {
            switch (a, b) {
            case (.prefix(let x), .prefix(let y)): return x < y
            case (.interfaceName(let x), .interfaceName(let y)): return x < y
            case (.prefix, .interfaceName): return true
            case (.interfaceName, .prefix): return false
            }
        }

        var prefix: IPPrefix? {
            if case .prefix(let prefix) = self { return prefix }
            return nil
        }

        var interfaceName: String? {
            if case .interfaceName(let name) = self { return name }
            return nil
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
        let names = Set(elements.compactMap(\.interfaceName))
        let families = Dictionary(grouping: elements.compactMap(\.prefix), by: \.family)
        let merged = families.values.flatMap { AddressRange.merged($0).flatMap(\.prefixes) }.map(Element.prefix)
        return (merged + names.map(Element.interfaceName)).sorted()
    }

    /// The interface names of a set of them.
    public var interfaceNames: [String] { elements.compactMap(\.interfaceName) }

    /// The prefixes of a set of them.
    public var prefixes: [IPPrefix] { elements.compactMap(\.prefix) }
}
