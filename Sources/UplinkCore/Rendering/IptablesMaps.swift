/// Verdict maps in iptables, which has none: each becomes a list of rules that, together,
/// send a packet where the map's element for it would.
struct IptablesMaps {
    let table: NftTable

    /// The rules for `KEY vmap @map`, each starting with `matches` (the rule's own matches).
    func rules(
        _ map: NftVerdictMap, key: NftMapKey, mask: UInt32?, matches: [String],
        _ family: IPFamily
    ) -> [IptablesLine] {
        switch key {
        case .connectionMark, .packetMark:
            let module = key == .connectionMark ? "connmark" : "mark"
            let mask = mask ?? .max
            return map.numbered.map { mark, verdict in
                .command(
                    matches + ["-m", module, "--mark", "\(hex(mark))/\(hex(mask))"]
                        + IptablesTranslation.target(verdict))
            }
        case .numberGenerator(.inc, let modulus) where map.elements.contains(where: { translates($0.verdict) }):
            // A DNAT ends the packet's way through the nat table, so the rules after the one
            // that took a connection never count it: seed 001's cascade instead, where the rule
            // of slot k sees only the connections the rules before it left, every (N - k)-th.
            return map.elements.enumerated().map { slot, element in
                .command(
                    matches + [
                        "-m", "statistic", "--mode", "nth", "--every", String(Int(modulus) - slot), "--packet", "0",
                        "-g", IptablesTranslation.chainName(element.verdict.chain ?? "")
                    ])
            }
        case .numberGenerator(.inc, let modulus):
            return map.numbered.map { slot, verdict in
                .command(
                    matches + [
                        "-m", "statistic", "--mode", "nth", "--every", String(modulus),
                        "--packet", String(slot), "-j", IptablesTranslation.chainName(verdict.chain ?? "")
                    ])
            }
        case .numberGenerator(.random, _):
            return randomCascade(map, matches: matches).map(IptablesLine.command)
        case .fields(let fields):
            return map.elements.filter { IptablesFamilies.element($0.key, holdsFor: family) }.flatMap { element in
                fieldAlternatives(fields, element.key).map {
                    .command(matches + $0 + IptablesTranslation.target(element.verdict))
                }
            }
        case .addressHash(_, let modulus, let seed):
            return hashRules(map, modulus: modulus, seed: seed, matches: matches)
        case .routeRealm:
            return map.numbered.map { realm, verdict in
                .command(matches + ["-m", "realm", "--realm", String(realm)] + IptablesTranslation.target(verdict))
            }
        }
    }

    /// Whether the element's chain translates the destination (a service's backend).
    private func translates(_ verdict: NftVerdict) -> Bool {
        guard let name = verdict.chain, let chain = table.chain(named: name) else { return false }
        return chain.rules.contains {
            $0.statements.contains { if case .translateDestination = $0 { return true } else { return false } }
        }
    }

    // MARK: numgen random

    /// Slots grouped by their chain in order of first appearance; the last takes what is left.
    private func randomCascade(_ map: NftVerdictMap, matches: [String]) -> [[String]] {
        let targets = map.elements.compactMap { $0.verdict.chain }.uniqued()
        let shares = targets.map { target in map.elements.filter { $0.verdict.chain == target }.count }
        let probabilities = cascadedProbabilities(weights: shares)
        return zip(targets, probabilities).enumerated().map { index, pair in
            let (target, probability) = pair
            let chance =
                index == targets.count - 1
                ? []
                : ["-m", "statistic", "--mode", "random", "--probability", IptablesTranslation.probability(probability)]
            return matches + chance + ["-g", IptablesTranslation.chainName(target)]
        }
    }

    // MARK: Packet fields

    /// The matches of one element of a map keyed by packet fields: one rule, one field after
    /// the other (`-i up1`, `-s 198.18.1.2/32`, `-d 198.19.0.0/24 -p tcp --dport 80:443`).
    /// Ports need `-p tcp` or `-p udp` before them; a key with ports and no protocol (nft's
    /// `th dport` holds for any transport with ports) becomes one rule for tcp and one for udp.
    func fieldAlternatives(_ fields: [NftField], _ key: [NftFieldValue]) -> [[String]] {
        var arguments: [String] = []
        for (field, value) in zip(fields, key) {
            arguments += Self.arguments(field, value)
        }
        let hasPorts = fields.contains { $0 == .sourcePort || $0 == .destinationPort }
        guard hasPorts, !fields.contains(.transportProtocol) else { return [arguments] }
        // Before the first port option.
        let at = arguments.firstIndex { $0 == "--sport" || $0 == "--dport" } ?? arguments.endIndex
        return ["tcp", "udp"].map { name in
            var alternative = arguments
            alternative.insert(contentsOf: ["-p", name], at: at)
            return alternative
        }
    }

    static func arguments(_ field: NftField, _ value: NftFieldValue) -> [String] {
        switch (field, value) {
        case (.inputInterfaceName, .interfaceName(let name)): return ["-i", name]
        case (.source, .prefix(let prefix)): return ["-s", IptablesTranslation.prefix(prefix)]
        case (.destination, .prefix(let prefix)): return ["-d", IptablesTranslation.prefix(prefix)]
        case (.transportProtocol, .transportProtocol(let number)):
            return ["-p", IPProtocolNumber.name(number) ?? String(number)]
        case (.sourcePort, .ports(let range)): return ["--sport", portRange(range)]
        case (.destinationPort, .ports(let range)): return ["--dport", portRange(range)]
        default: preconditionFailure("a \(field) key holds \(value)")
        }
    }

    /// `80` or `80:443`, as iptables writes port ranges.
    static func portRange(_ range: PortRange) -> String {
        range.lower == range.upper ? String(range.lower) : "\(range.lower):\(range.upper)"
    }

    // MARK: jhash

    /// `jhash ip saddr . ip daddr mod N seed S vmap @slots` has no iptables equivalent. The
    /// closest is HMARK, which hashes the two addresses into a slot number, `mod N`, but
    /// writes it as the whole packet mark. So the rules around it:
    /// 1. save the packet mark, but for the bits of the mark mask, into the conntrack mark;
    /// 2. HMARK: the packet mark becomes the slot, 0 to N-1;
    /// 3. one rule per slot: its uplink's mark into the mask bits of the conntrack mark;
    /// 4. the conntrack mark back into the packet mark, whole: the original bits outside the
    ///    mask, the uplink's inside;
    /// 5. one rule per uplink: by that mark, on to the uplink's chain, as the map's element would.
    /// The cost: the new connection's conntrack mark outside the mask takes the packet mark's
    /// bits (the nft form leaves it as it was; it is 0 unless another program marks connections
    /// before their first packet has passed), and the hash is not nft's, so a pair of addresses
    /// may take another uplink than under the nft form, but always the same one.
    static let hashHeadline = "jhash has no iptables equivalent: HMARK below is the closest form."

    func hashRules(_ map: NftVerdictMap, modulus: UInt32, seed: UInt32, matches: [String]) -> [IptablesLine] {
        if map.elements.contains(where: { translates($0.verdict) }) {
            return backendHashRules(map, modulus: modulus, seed: seed, matches: matches)
        }
        let slots = map.numbered
        let marks = slots.map { slot, verdict -> MarkedBits in
            guard let target = verdict.chain, let bits = connectionMark(of: target) else {
                preconditionFailure("slot \(slot) of \(map.name) leads to no chain that marks the connection")
            }
            return bits
        }
        guard let mask = marks.first?.mask else { return [] }
        let others = hex(~mask)
        var lines: [IptablesLine] = [
            .comment([
                Self.hashHeadline,
                "- HMARK hashes source and destination address with another function than nft's jhash: a pair of",
                "  addresses may take another uplink than under the nft form, but always the same one.",
                "- HMARK overwrites the whole packet mark. So the packet "
                    + "mark outside \(hex(mask)) waits in the conntrack",
                "  mark, each slot writes its uplink's mark there, and the conntrack mark is copied back whole.",
                "- Cost: a new connection's conntrack mark outside "
                    + "\(hex(mask)) becomes its packet mark's (the nft form",
                "  leaves it as it was: 0 unless another program marks connections before their first packet)."
            ]),
            .command(matches + ["-j", "CONNMARK", "--save-mark", "--nfmask", others, "--ctmask", others]),
            .command(
                matches + [
                    "-j", "HMARK", "--hmark-tuple", "src,dst", "--hmark-mod", String(modulus),
                    "--hmark-offset", "0", "--hmark-rnd", hex(seed)
                ])
        ]
        lines += zip(slots, marks).map { slot, bits in
            .command(
                matches + [
                    "-m", "mark", "--mark", hex(slot.number),
                    "-j", "CONNMARK", "--set-xmark", bits.description
                ])
        }
        lines.append(
            .command(matches + ["-j", "CONNMARK", "--restore-mark", "--nfmask", "0xffffffff", "--ctmask", "0xffffffff"])
        )
        let targets = zip(slots, marks).map { ($0.verdict, $1) }.uniqued(by: \.0)
        lines += targets.map { verdict, bits in
            .command(matches + ["-m", "connmark", "--mark", bits.description] + IptablesTranslation.target(verdict))
        }
        return lines
    }

    /// A service's `jhash … vmap` in the nat table: HMARK writes the slot as the packet mark and
    /// one rule per slot goes to its backend. Only the connection's first packet passes the nat
    /// table: what the overwritten mark changes is the routing of that first packet.
    private func backendHashRules(_ map: NftVerdictMap, modulus: UInt32, seed: UInt32, matches: [String])
        -> [IptablesLine]
    {
        [
            .comment([
                Self.hashHeadline,
                "- HMARK hashes source and destination address with another function than nft's jhash: a client may",
                "  meet another backend than under the nft form, but always the same one.",
                "- HMARK overwrites the packet mark of the connection's first "
                    + "packet with its slot (0 to \(modulus - 1)): that",
                "  packet is routed by the main table, unless the slot has bits of the mark mask (weights summing past",
                "  255 with the default mask 0xff00), when an uplink's "
                    + "rule may route it; later packets keep their mark."
            ]),
            .command(
                matches + [
                    "-j", "HMARK", "--hmark-tuple", "src,dst", "--hmark-mod", String(modulus),
                    "--hmark-offset", "0", "--hmark-rnd", hex(seed)
                ])
        ]
            + map.numbered.map { slot, verdict in
                .command(matches + ["-m", "mark", "--mark", hex(slot)] + IptablesTranslation.target(verdict))
            }
    }

    /// The conntrack mark a chain stamps (the planner's `new-NAME` chains).
    private func connectionMark(of chain: String) -> MarkedBits? {
        for rule in table.chain(named: chain)?.rules ?? [] {
            for case .setConnectionMark(let bits) in rule.statements { return bits }
        }
        return nil
    }
}

private extension Array {
    func uniqued<Key: Hashable>(by key: (Element) -> Key) -> [Element] {
        var seen = Set<Key>()
        return filter { seen.insert(key($0)).inserted }
    }
}
