/// Which connections a policy entry can match, and whether an earlier entry already catches all
/// of them. Pure functions over `PolicyMatch`, used by the parser's warnings and by tests.
///
/// Coverage is judged one earlier entry at a time and one family at a time: several earlier
/// entries that only together cover a later one are not noticed (that would take set algebra
/// over every field at once, and a missed warning costs less than a false one).
public enum PolicyCoverage {
    /// The families in which an entry can match some connection: every address list that is not
    /// empty must hold an address of the family, and the protocols (if any) one that exists in it.
    public static func families(_ match: PolicyMatch) -> [IPFamily] {
        IPFamily.allCases.filter { family in
            [match.sources, match.destinations].allSatisfy { $0.isEmpty || $0.contains { $0.family == family } }
                && (match.protocols.isEmpty || !protocols(match, in: family).isEmpty)
        }
    }

    /// Whether every connection of `family` that `later` matches is also matched by `earlier`:
    /// field by field, `earlier` matches anything there, or each value of `later` lies inside
    /// one of its values (prefixes inside prefixes, port ranges inside ranges, adjacent
    /// earlier values joined first, equal protocols
    /// and interface names).
    public static func covers(_ earlier: PolicyMatch, _ later: PolicyMatch, in family: IPFamily) -> Bool {
        guard families(earlier).contains(family), families(later).contains(family) else { return false }
        return addressesCovered(earlier.sources, later.sources, in: family)
            && addressesCovered(earlier.destinations, later.destinations, in: family)
            && valuesCovered(protocols(earlier, in: family), protocols(later, in: family)) { $0 == $1 }
            && valuesCovered(PolicyCompiler.joined(earlier.destinationPorts), later.destinationPorts) { $0.contains($1) }
            && valuesCovered(PolicyCompiler.joined(earlier.sourcePorts), later.sourcePorts) { $0.contains($1) }
            && valuesCovered(earlier.inputInterfaces, later.inputInterfaces) { $0 == $1 }
    }

    /// For an entry, the earlier entry that covers it in each family it can match in, as indices
    /// into `earlier`; nil when some family is left uncovered (or the entry cannot match at all).
    public static func shadowing(_ later: PolicyMatch, by earlier: [PolicyMatch]) -> [IPFamily: Int]? {
        let families = families(later)
        guard !families.isEmpty else { return nil }
        var result: [IPFamily: Int] = [:]
        for family in families {
            guard let index = earlier.firstIndex(where: { covers($0, later, in: family) }) else { return nil }
            result[family] = index
        }
        return result
    }

    /// The entry's protocols that exist in `family` (icmp only in IPv4, icmpv6 only in IPv6).
    static func protocols(_ match: PolicyMatch, in family: IPFamily) -> [UInt8] {
        match.protocols.filter { IPProtocolNumber.family($0).map { $0 == family } ?? true }
    }

    /// An empty earlier list matches anything; an empty later list matches anything too, which
    /// only an empty earlier list covers.
    private static func valuesCovered<T>(_ earlier: [T], _ later: [T], _ inside: (T, T) -> Bool) -> Bool {
        if earlier.isEmpty { return true }
        if later.isEmpty { return false }
        return later.allSatisfy { value in earlier.contains { inside($0, value) } }
    }

    private static func addressesCovered(_ earlier: [IPPrefix], _ later: [IPPrefix], in family: IPFamily) -> Bool {
        if earlier.isEmpty { return true }
        let laterHere = later.filter { $0.family == family }
        if laterHere.isEmpty { return false }
        // Adjacent earlier prefixes are joined first: 10.0.0.0/25 and 10.0.0.128/25 cover 10.0.0.0/24.
        let ranges = AddressRange.merged(earlier.filter { $0.family == family })
        return laterHere.map(AddressRange.init).allSatisfy { range in
            ranges.contains { !range.first.lexicographicallyPrecedes($0.first) && !$0.last.lexicographicallyPrecedes(range.last) }
        }
    }
}
