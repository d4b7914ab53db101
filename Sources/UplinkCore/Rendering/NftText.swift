/// The nft(8) language form of uplinkctl's table, as `nft -f` reads it.
public enum NftText {
    public static func table(_ table: NftTable) -> String {
        var blocks: [String] = []
        blocks += table.counters.map { "\tcounter \($0) {\n\t}" }
        blocks += table.sets.map(set)
        blocks += table.maps.map(map)
        blocks += table.chains.map(chain)
        return "table inet \(table.name) {\n" + blocks.joined(separator: "\n") + "\n}\n"
    }

    static func set(_ set: NftSet) -> String {
        var lines = ["\tset \(set.name) {"]
        switch set.type {
        case .ipv4Prefixes: lines += ["\t\ttype ipv4_addr", "\t\tflags interval"]
        case .ipv6Prefixes: lines += ["\t\ttype ipv6_addr", "\t\tflags interval"]
        case .interfaceNames: lines.append("\t\ttype ifname")
        case .routeInterfaceNames: lines.append("\t\ttypeof fib daddr . mark oifname")
        }
        if !set.elements.isEmpty {
            lines.append("\t\telements = { " + set.elements.map(element).joined(separator: ", ") + " }")
        }
        return (lines + ["\t}"]).joined(separator: "\n")
    }

    static func element(_ element: NftSet.Element) -> String {
        switch element {
        case .prefix(let prefix): return prefix.description
        case .interfaceName(let name): return interfaceName(name)
        }
    }

    /// An interface name as an nft string. nft reads a trailing '*' as a wildcard (every name
    /// that starts with the rest); an interface may really be named so, and is matched exactly
    /// with the star escaped, as apply matches it.
    static func interfaceName(_ name: String) -> String {
        "\"" + (name.hasSuffix("*") ? name.dropLast() + "\\*" : name) + "\""
    }

    static func map(_ map: NftVerdictMap) -> String {
        var lines = ["\tmap \(map.name) {", "\t\t\(declaration(map.typeof)) : verdict"]
        if map.isInterval { lines.append("\t\tflags interval") }
        if !map.elements.isEmpty {
            lines.append("\t\telements = { " + mapElements(map) + " }")
        }
        return (lines + ["\t}"]).joined(separator: "\n")
    }

    static func mapElements(_ map: NftVerdictMap) -> String {
        map.elements.map { "\(mapKey($0.key, of: map.typeof)) : \(verdict($0.verdict))" }.joined(separator: ", ")
    }

    static func hookLine(_ hook: NftHook) -> String {
        "type \(hook.type.rawValue) hook \(hook.point.rawValue) priority \(priorityName(hook)); policy accept;"
    }

    static func chain(_ chain: NftChain) -> String {
        var lines = ["\tchain \(chain.name) {"]
        if let hook = chain.hook {
            lines.append("\t\t" + hookLine(hook))
        }
        lines += chain.rules.map { "\t\t" + rule($0) }
        return (lines + ["\t}"]).joined(separator: "\n")
    }

    public static func rule(_ rule: NftRule) -> String {
        let parts = rule.matches.map(match) + rule.statements.map(statement) + [rule.end.map(end)].compactMap { $0 }
        return parts.joined(separator: " ")
    }

    static func match(_ match: NftMatch) -> String {
        switch match {
        case .family(let family): return "meta nfproto \(family == .ipv4 ? "ipv4" : "ipv6")"
        case .connectionNotNew: return "ct state != new"
        case .destinationInSet(let family, let set): return "\(family == .ipv4 ? "ip" : "ip6") daddr @\(set)"
        case .outputInterface(let name): return "oifname " + interfaceName(name)
        case .destinationIsLocal: return "fib daddr type local"
        case .outputInterfaceInSet(let set): return "oifname @\(set)"
        case .routeInterfaceInSet(let set): return "fib daddr . mark oifname @\(set)"
        case .neighbourDiscovery: return "icmpv6 type 133-137"
        case .inputInterface(let name): return "iifname " + interfaceName(name)
        case .destination(let prefix): return "\(prefix.family == .ipv4 ? "ip" : "ip6") daddr \(prefix)"
        case .transportProtocol(let number): return "meta l4proto \(IPProtocolNumber.name(number) ?? String(number))"
        case .destinationPorts(let ports): return "th dport \(ports)"
        case .destinationTranslated: return "ct status dnat"
        case .mptcpSubtype(let subtype): return "tcp option mptcp subtype \(subtype)"
        }
    }

    static func statement(_ statement: NftStatement) -> String {
        switch statement {
        case .setPacketMark(let bits): return "meta mark set meta mark & \(hex(~bits.mask)) | \(hex(bits.value))"
        case .setConnectionMark(let bits): return "ct mark set ct mark & \(hex(~bits.mask)) | \(hex(bits.value))"
        case .count(let counter): return "counter name \"\(counter)\""
        case .masquerade: return "masquerade"
        case .translateDestination(.thisHost(let port)): return "redirect" + (port.map { " to :\($0)" } ?? "")
        case .translateDestination(.address(let address, let port)):
            let family = address.family == .ipv4 ? "ip" : "ip6"
            return "dnat \(family) to \(NatTarget.address(address, port: port))"
        }
    }

    static func verdict(_ verdict: NftVerdict) -> String {
        switch verdict {
        case .jump(let chain): return "jump \(chain)"
        case .goto(let chain): return "goto \(chain)"
        case .return: return "return"
        case .drop: return "drop"
        }
    }

    static func end(_ end: NftRuleEnd) -> String {
        switch end {
        case .verdict(let verdict): return self.verdict(verdict)
        case .lookup(let key, let mask, let map):
            return typeof(key) + (mask.map { " & \(hex($0))" } ?? "") + " vmap @\(map)"
        }
    }

    /// `typeof EXPR` for computed keys; `type T . U` for packet fields, whose types nft names.
    static func declaration(_ typeof: NftMapKey) -> String {
        switch typeof {
        case .fields(let fields): return "type " + fields.map(typeName).joined(separator: " . ")
        // nft 1.0.6 accepts `typeof jhash ...` but crashes listing it: symhash has the same
        // 32-bit slot numbers and lists as written (the rule still uses jhash).
        case .addressHash(_, let modulus, _): return "typeof symhash mod \(modulus)"
        default: return "typeof " + self.typeof(typeof)
        }
    }

    static func typeof(_ typeof: NftMapKey) -> String {
        switch typeof {
        case .connectionMark: return "ct mark"
        case .packetMark: return "meta mark"
        case .numberGenerator(let generator, let modulus): return "numgen \(generator.rawValue) mod \(modulus)"
        case .addressHash(let family, let modulus, let seed):
            let ip = family == .ipv4 ? "ip" : "ip6"
            return "jhash \(ip) saddr . \(ip) daddr mod \(modulus) seed \(hex(seed))"
        case .fields(let fields): return fields.map(field).joined(separator: " . ")
        case .routeRealm: return "rt classid"
        }
    }

    static func field(_ field: NftField) -> String {
        switch field {
        case .inputInterfaceName: return "iifname"
        case .source(let family): return "\(family == .ipv4 ? "ip" : "ip6") saddr"
        case .destination(let family): return "\(family == .ipv4 ? "ip" : "ip6") daddr"
        case .transportProtocol: return "meta l4proto"
        case .sourcePort: return "th sport"
        case .destinationPort: return "th dport"
        }
    }

    static func typeName(_ field: NftField) -> String {
        switch field {
        case .inputInterfaceName: return "ifname"
        case .source(let family), .destination(let family): return family == .ipv4 ? "ipv4_addr" : "ipv6_addr"
        case .transportProtocol: return "inet_proto"
        case .sourcePort, .destinationPort: return "inet_service"
        }
    }

    public static func mapKey(_ key: [NftFieldValue], of typeof: NftMapKey) -> String {
        if typeof.isMark, let mark = key.number { return hex(mark) }
        return key.map(fieldValue).joined(separator: " . ")
    }

    static func fieldValue(_ value: NftFieldValue) -> String {
        switch value {
        case .number(let number): return String(number)
        case .interfaceName(let name): return interfaceName(name)
        case .prefix(let prefix):
            return prefix.length == prefix.family.bitCount ? prefix.address.description : prefix.description
        case .transportProtocol(let number): return IPProtocolNumber.name(number) ?? String(number)
        case .ports(let range): return range.description
        }
    }

    static func priorityName(_ hook: NftHook) -> String {
        switch hook.priority {
        case NftHook.manglePriority: return "mangle"
        case NftHook.srcnatPriority where hook.type == .nat: return "srcnat"
        case NftHook.dstnatPriority where hook.type == .nat && hook.point == .prerouting: return "dstnat"
        default: return String(hook.priority)
        }
    }
}
