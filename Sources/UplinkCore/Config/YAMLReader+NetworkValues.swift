import Yams

/// Reading the network values of uplinks and policies: addresses, prefixes, ports, protocols,
/// each written alone or as a list.
extension YAMLReader {
    static let protocolNames: [String: UInt8] = [
        "tcp": IPProtocolNumber.tcp, "udp": IPProtocolNumber.udp,
        "icmp": IPProtocolNumber.icmp, "icmpv6": IPProtocolNumber.icmpv6, "ipv6-icmp": IPProtocolNumber.icmpv6
    ]

    /// The items of a value that may be one scalar or a list of them; nil after reporting an
    /// empty list, a mapping or an empty value.
    mutating func scalarOrList(_ node: Node, key: String, what: String) -> [Node]? {
        switch node {
        case .sequence(let sequence) where sequence.isEmpty:
            error(node, "'\(key)' is an empty list; give \(what), or leave '\(key)' out")
            return nil
        case .sequence(let sequence):
            return Array(sequence)
        case .scalar:
            guard string(node, key: key, what: "\(what), or a list of them") != nil else { return nil }
            return [node]
        default:
            error(node, "'\(key)' must be \(what), or a list of them (\(kindName(node)) found)")
            return nil
        }
    }

    /// An address, `ADDRESS/LENGTH` with no host bits set, or a bare address meaning one host.
    mutating func prefix(_ node: Node, key: String) -> IPPrefix? {
        let what = "an address or prefix such as 198.18.0.0/15 or 2001:2::/48"
        guard let text = string(node, key: key, what: what) else { return nil }
        if let prefix = IPPrefix(text) { return prefix }
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let address = IPAddress(String(parts[0])) else {
            error(node, "'\(key)' must be \(what); '\(text)' is not")
            return nil
        }
        let bits = address.family.bitCount
        guard let length = Int(parts[1]), String(length) == parts[1],
            let network = IPPrefix(address: address, length: length)
        else {
            error(
                node,
                "'\(key)' cannot be '\(text)': an \(familyName(address.family)) "
                    + "prefix length is a number from 0 to \(bits)"
            )
            return nil
        }
        error(
            node,
            "'\(key)' cannot be '\(text)': it has host bits set; write the "
                + "network, \(network), or \(address) for that one address"
        )
        return nil
    }

    /// A port from 1 to 65535 or an inclusive range `A-B`.
    mutating func portRange(_ node: Node, key: String) -> PortRange? {
        let what = "a port from 1 to 65535 or a range such as 8000-8080"
        guard let text = string(node, key: key, what: what) else { return nil }
        let parts = text.split(separator: "-", omittingEmptySubsequences: false).map(String.init)
        let ports = parts.compactMap { UInt16($0) }.filter { $0 != 0 }
        guard (1...2).contains(parts.count), ports.count == parts.count, ports.map(String.init) == parts else {
            error(node, "'\(key)' must be \(what); '\(text)' is not")
            return nil
        }
        guard ports[0] <= ports[ports.count - 1] else {
            error(node, "'\(key)' range '\(text)' runs backwards; write the lower port first: \(ports[1])-\(ports[0])")
            return nil
        }
        return PortRange(ports[0], ports[ports.count - 1])
    }

    /// A protocol by name (tcp, udp, icmp, icmpv6 or ipv6-icmp) or by number from 0 to 255.
    mutating func protocolNumber(_ node: Node, key: String) -> UInt8? {
        let allowed = "'tcp', 'udp', 'icmp', 'icmpv6' or a protocol number from 0 to 255"
        guard let text = string(node, key: key, what: allowed) else { return nil }
        if let number = Self.protocolNames[text] { return number }
        if let number = UInt8(text), String(number) == text { return number }
        let hint =
            closestMatch(to: text, among: ["tcp", "udp", "icmp", "icmpv6"]).map { " (did you mean '\($0)'?)" } ?? ""
        error(node, "'\(key)' cannot be '\(text)'\(hint); allowed: \(allowed)")
        return nil
    }
}

/// `IPv4` or `IPv6`, as messages write the families.
func familyName(_ family: IPFamily) -> String { family == .ipv4 ? "IPv4" : "IPv6" }
