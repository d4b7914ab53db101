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
        }
        if !set.elements.isEmpty {
            lines.append("\t\telements = { " + set.elements.map(element).joined(separator: ", ") + " }")
        }
        return (lines + ["\t}"]).joined(separator: "\n")
    }

    static func element(_ element: NftSet.Element) -> String {
        switch element {
        case .prefix(let prefix): return prefix.description
        case .interfaceName(let name): return "\"\(name)\""
        }
    }

    static func map(_ map: NftVerdictMap) -> String {
        var lines = ["\tmap \(map.name) {", "\t\ttypeof \(typeof(map.typeof)) : verdict"]
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
        let parts = rule.matches.map(match) + rule.statements.map(statement) + [rule.verdict.map(verdict)].compactMap { $0 }
        return parts.joined(separator: " ")
    }

    static func match(_ match: NftMatch) -> String {
        switch match {
        case .family(let family): return "meta nfproto \(family == .ipv4 ? "ipv4" : "ipv6")"
        case .connectionNotNew: return "ct state != new"
        case .destinationInSet(let family, let set): return "\(family == .ipv4 ? "ip" : "ip6") daddr @\(set)"
        case .inputInterfaceInSet(let set): return "iifname @\(set)"
        case .outputInterface(let name): return "oifname \"\(name)\""
        case .destinationIsLocal: return "fib daddr type local"
        }
    }

    static func statement(_ statement: NftStatement) -> String {
        switch statement {
        case .setPacketMark(let bits): return "meta mark set meta mark & \(hex(~bits.mask)) | \(hex(bits.value))"
        case .setConnectionMark(let bits): return "ct mark set ct mark & \(hex(~bits.mask)) | \(hex(bits.value))"
        case .count(let counter): return "counter name \"\(counter)\""
        case .masquerade: return "masquerade"
        }
    }

    static func verdict(_ verdict: NftVerdict) -> String {
        switch verdict {
        case .jump(let chain): return "jump \(chain)"
        case .goto(let chain): return "goto \(chain)"
        case .return: return "return"
        case .map(let key, let map): return "\(keyExpression(key)) vmap @\(map)"
        }
    }

    static func keyExpression(_ key: NftMapKey) -> String {
        switch key {
        case .connectionMark(let mask): return "ct mark & \(hex(mask))"
        case .numberGenerator: return typeof(key.typeof)
        }
    }

    static func typeof(_ typeof: NftMapTypeof) -> String {
        switch typeof {
        case .connectionMark: return "ct mark"
        case let .numberGenerator(generator, modulus): return "numgen \(generator.rawValue) mod \(modulus)"
        }
    }

    public static func mapKey(_ value: UInt32, of key: NftMapTypeof) -> String {
        switch key {
        case .connectionMark: return hex(value)
        case .numberGenerator: return String(value)
        }
    }

    static func priorityName(_ hook: NftHook) -> String {
        switch hook.priority {
        case NftHook.manglePriority: return "mangle"
        case NftHook.srcnatPriority where hook.type == .nat: return "srcnat"
        default: return String(hook.priority)
        }
    }
}
