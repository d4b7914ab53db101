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
    /// earlier values joined first, equal protocols and interface names).
    public static func covers(_ earlier: PolicyMatch, _ later: PolicyMatch, in family: IPFamily) -> Bool {
        Prepared(earlier).covers(Prepared(later), in: family)
    }

    /// For each entry, the earlier entry that covers it in each family it can match in, as
    /// indices into `matches`; nil when some family is left uncovered (or it cannot match at all).
    /// Each entry is prepared once, so a thousand entries take milliseconds, not seconds.
    public static func shadowing(_ matches: [PolicyMatch]) -> [[IPFamily: Int]?] {
        let prepared = matches.map(Prepared.init)
        return prepared.indices.map { index in
            let later = prepared[index]
            guard !later.families.isEmpty else { return nil }
            var result: [IPFamily: Int] = [:]
            for family in later.families {
                guard let found = prepared[..<index].firstIndex(where: { $0.covers(later, in: family) }) else {
                    return nil
                }
                result[family] = found
            }
            return result
        }
    }

    /// An entry with what coverage compares computed once: families, address ranges per family
    /// (joined where they touch), protocols per family, ports joined.
    /// A class: compared a million times for a thousand entries, it must not be copied.
    final class Prepared {
        let match: PolicyMatch
        let families: [IPFamily]
        /// Indexed by family: IPv4 first.
        let sources: [[AddressRange]]
        let destinations: [[AddressRange]]
        let protocols: [[UInt8]]
        let destinationPorts: [PortRange]
        let sourcePorts: [PortRange]

        init(_ match: PolicyMatch) {
            self.match = match
            families = PolicyCoverage.families(match)
            func ranges(_ prefixes: [IPPrefix]) -> [[AddressRange]] {
                IPFamily.allCases.map { family in AddressRange.merged(prefixes.filter { $0.family == family }) }
            }
            sources = ranges(match.sources)
            destinations = ranges(match.destinations)
            protocols = IPFamily.allCases.map { PolicyCoverage.protocols(match, in: $0) }
            destinationPorts = PolicyCompiler.joined(match.destinationPorts)
            sourcePorts = PolicyCompiler.joined(match.sourcePorts)
        }

        func covers(_ later: Prepared, in family: IPFamily) -> Bool {
            guard families.contains(family), later.families.contains(family) else { return false }
            let f = family == .ipv4 ? 0 : 1
            return PolicyCoverage.valuesCovered(protocols[f], later.protocols[f]) { $0 == $1 }
                && PolicyCoverage.valuesCovered(destinationPorts, later.match.destinationPorts) { $0.contains($1) }
                && PolicyCoverage.valuesCovered(sourcePorts, later.match.sourcePorts) { $0.contains($1) }
                && PolicyCoverage.valuesCovered(match.inputInterfaces, later.match.inputInterfaces) { $0 == $1 }
                && rangesCovered(match.destinations.isEmpty, destinations[f], later.destinations[f])
                && rangesCovered(match.sources.isEmpty, sources[f], later.sources[f])
        }

        /// An earlier entry without addresses matches any; otherwise each later range must lie
        /// inside one earlier range (the later entry has addresses of the family: it can match in it).
        private func rangesCovered(_ any: Bool, _ earlier: [AddressRange], _ later: [AddressRange]) -> Bool {
            if any { return true }
            if later.isEmpty { return false }
            return later.allSatisfy { range in
                earlier.contains {
                    !range.first.lexicographicallyPrecedes($0.first) && !$0.last.lexicographicallyPrecedes(range.last)
                }
            }
        }
    }

    /// The entry's protocols that exist in `family` (icmp only in IPv4, icmpv6 only in IPv6).
    static func protocols(_ match: PolicyMatch, in family: IPFamily) -> [UInt8] {
        match.protocols.filter { IPProtocolNumber.exists($0, in: family) }
    }

    /// An empty earlier list matches anything; an empty later list matches anything too, which
    /// only an empty earlier list covers.
    static func valuesCovered<T>(_ earlier: [T], _ later: [T], _ inside: (T, T) -> Bool) -> Bool {
        if earlier.isEmpty { return true }
        if later.isEmpty { return false }
        return later.allSatisfy { value in earlier.contains { inside($0, value) } }
    }
}
