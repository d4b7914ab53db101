/// A named set of addresses and prefixes that rules look things up in.
public struct NftSet: Sendable, Hashable, Codable {
    public enum ElementType: String, Sendable, Hashable, Codable {
        /// `ipv4_addr` with `flags interval`: addresses and prefixes.
        case ipv4Prefixes
        /// `ipv6_addr` with `flags interval`.
        case ipv6Prefixes
    }

    public enum Element: Sendable, Hashable, Codable, Comparable {
        case prefix(IPPrefix)

        public static func < (a: Element, b: Element) -> Bool {
            switch (a, b) {
            case let (.prefix(x), .prefix(y)): return x < y
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
        let prefixes = elements.map { element -> IPPrefix in
            switch element { case .prefix(let prefix): return prefix }
        }
        let families = Dictionary(grouping: prefixes, by: \.family)
        return families.values.flatMap { AddressRange.merged($0).flatMap(\.prefixes) }.map(Element.prefix).sorted()
    }
}
