/// Compiles the `policies:` list, for one family, into verdict-map lookups whose cost per
/// packet does not grow with the number of entries.
///
/// Consecutive entries that match the same fields share one map keyed by those fields
/// concatenated (`ip daddr . meta l4proto . th dport`): one lookup decides among all of them.
/// A new map starts where the fields change, or where an entry overlaps an earlier entry of the
/// same map (the earlier one must win, and one map cannot rank its elements). An entry that
/// matches anything becomes a plain rule. First match wins, exactly as written.
struct PolicyCompiler {
    let config: Config
    let family: IPFamily
    /// Uplinks out of the rotation: entries that name them follow their `fallback`.
    let down: Set<String>
    let tail: (IPFamily, [(name: String, weight: Int)], String) -> (rule: NftRule, map: NftVerdictMap?)

    static let mapPrefix = "policy-"

    struct Output {
        var rules: [NftRule] = []
        var maps: [NftVerdictMap] = []
        var chains: [NftChain] = []
    }

    private struct Run {
        var fields: [NftField]
        var elements: [NftVerdictMap.Element]
        /// Each element's key as one numeric range per field, for the overlap test.
        var spans: [[ClosedRange<UInt128>]]
    }

    func compile() -> Output {
        var output = Output()
        var run: Run?
        var runs = 0
        func close() {
            guard let current = run else { return }
            runs += 1
            let name = "\(Self.mapPrefix)\(NftPlanner.suffix(family))-\(runs)"
            output.maps.append(NftVerdictMap(name: name, typeof: .fields(current.fields), elements: current.elements))
            output.rules.append(NftRule([], [], .lookup(.fields(current.fields), map: name)))
            run = nil
        }
        for (index, policy) in config.policies.enumerated() {
            guard let values = fieldValues(policy.match) else { continue }
            let verdict = verdict(policy, entry: index + 1, output: &output)
            let fields = values.map(\.field)
            if fields.isEmpty {
                close()
                output.rules.append(NftRule([], [], .verdict(verdict)))
                continue
            }
            let elements = crossProduct(values.map(\.values)).map { NftVerdictMap.Element(key: $0, verdict: verdict) }
            let spans = elements.map { $0.key.map(Self.span) }
            if var current = run, current.fields == fields,
                !spans.contains(where: { new in current.spans.contains { Self.overlaps($0, new) } })
            {
                current.elements += elements
                current.spans += spans
                run = current
            } else {
                close()
                run = Run(fields: fields, elements: elements, spans: spans)
            }
        }
        close()
        return output
    }

    /// The fields an entry matches in this family, each with its values (prefixes and port
    /// ranges joined where they touch), in the order of the key; nil if it cannot match here.
    private func fieldValues(_ match: PolicyMatch) -> [(field: NftField, values: [NftFieldValue])]? {
        var result: [(NftField, [NftFieldValue])] = []
        if !match.inputInterfaces.isEmpty {
            result.append(
                (.inputInterfaceName, match.inputInterfaces.uniqued().sorted().map(NftFieldValue.interfaceName)))
        }
        for (field, prefixes) in [(NftField.source(family), match.sources), (.destination(family), match.destinations)]
        where !prefixes.isEmpty {
            let here = prefixes.filter { $0.family == family }
            if here.isEmpty { return nil }
            result.append((field, AddressRange.merged(here).flatMap(\.prefixes).map(NftFieldValue.prefix)))
        }
        if !match.protocols.isEmpty {
            let here = PolicyCoverage.protocols(match, in: family)
            if here.isEmpty { return nil }
            result.append((.transportProtocol, here.uniqued().sorted().map(NftFieldValue.transportProtocol)))
        }
        for (field, ports) in [(NftField.sourcePort, match.sourcePorts), (.destinationPort, match.destinationPorts)]
        where !ports.isEmpty {
            result.append((field, Self.joined(ports).map(NftFieldValue.ports)))
        }
        return result
    }

    /// Where an entry sends a connection. An uplink that does not carry this family cannot
    /// take it: the connection is left to the main table (check warns about it). While every
    /// uplink the entry names is down, its `fallback` decides.
    private func verdict(_ policy: Policy, entry: Int, output: inout Output) -> NftVerdict {
        let members: [(name: String, weight: Int)]
        switch policy.action {
        case .bypass:
            return .return
        case .uplink(let name):
            members = carries(name) ? [(name, 1)] : []
        case .balance(let shares):
            members = shares.filter { carries($0.uplink) }.map { ($0.uplink, $0.weight) }
        }
        if members.isEmpty { return .return }
        if members.allSatisfy({ down.contains($0.name) }) {
            switch policy.fallback {
            case .none:
                break
            case .uplink(let other) where carries(other) && !down.contains(other):
                return .goto(NftPlanner.newChainName(other))
            case .uplink, .balance:
                let everyone = config.uplinks.filter { $0.carries(family) }.map { (name: $0.name, weight: $0.weight) }
                return pick(everyone, entry: entry, output: &output)
            }
        }
        return pick(members, entry: entry, output: &output)
    }

    /// One member directly; several through a pick chain of their own (a dead member's slots
    /// handed to the live ones).
    private func pick(_ members: [(name: String, weight: Int)], entry: Int, output: inout Output) -> NftVerdict {
        if members.count == 1 { return .goto(NftPlanner.newChainName(members[0].name)) }
        let name = "pick-\(NftPlanner.suffix(family))-\(entry)"
        let picked = tail(family, members, name)
        output.maps += picked.map.map { [$0] } ?? []
        output.chains.append(NftChain(name: name, rules: [picked.rule]))
        return .goto(name)
    }

    private func carries(_ uplink: String) -> Bool { config.uplink(named: uplink)?.carries(family) == true }

    private static func overlaps(_ a: [ClosedRange<UInt128>], _ b: [ClosedRange<UInt128>]) -> Bool {
        zip(a, b).allSatisfy { $0.overlaps($1) }
    }

    /// A field value as the numbers it covers: two keys overlap when every field's ranges do.
    /// An interface name (at most 15 bytes) is its bytes read as one number: exact, and the same
    /// in every run.
    private static func span(_ value: NftFieldValue) -> ClosedRange<UInt128> {
        switch value {
        case .number(let number): return UInt128(number)...UInt128(number)
        case .transportProtocol(let number): return UInt128(number)...UInt128(number)
        case .ports(let range): return UInt128(range.lower)...UInt128(range.upper)
        case .interfaceName(let name):
            let code = name.utf8.prefix(16).reduce(UInt128(0)) { $0 << 8 | UInt128($1) }
            return code...code
        case .prefix(let prefix):
            let low = prefix.address.bytes.reduce(UInt128(0)) { $0 << 8 | UInt128($1) }
            let hostBits = prefix.family.bitCount - prefix.length
            let high = hostBits == 0 ? low : low | ((UInt128(1) << hostBits) - 1)
            return low...high
        }
    }

    /// Port ranges sorted, overlapping and adjacent ones joined.
    static func joined(_ ranges: [PortRange]) -> [PortRange] {
        var result: [PortRange] = []
        for range in ranges.sorted() {
            if let last = result.last, Int(range.lower) <= Int(last.upper) + 1 {
                result[result.count - 1].upper = max(last.upper, range.upper)
            } else {
                result.append(range)
            }
        }
        return result
    }
}

/// Every combination of one value from each list, in order.
func crossProduct<T>(_ lists: [[T]]) -> [[T]] {
    lists.reduce([[]]) { partial, list in partial.flatMap { prefix in list.map { prefix + [$0] } } }
}
