import Yams

/// Reading an uplink's `gateway`, `family` and `masquerade6`: which families it carries and how.
extension ConfigParser {
    static let gatewayWhat = "an IPv4 or IPv6 address such as 198.18.1.1 or 2001:2:0:1::1"

    /// At most one gateway per family, with the node each was written at.
    static func readGateways(_ node: Node, reader: inout YAMLReader) -> [(address: IPAddress, node: Node)]? {
        guard let items = reader.scalarOrList(node, key: "gateway", what: gatewayWhat) else { return nil }
        var gateways: [(address: IPAddress, node: Node)] = []
        var ok = true
        for item in items {
            guard let text = reader.string(item, key: "gateway", what: gatewayWhat) else {
                ok = false
                continue
            }
            guard let address = IPAddress(text) else {
                reader.error(
                    item,
                    "gateway '\(text)' is not an IPv4 or IPv6 address; write an IPv4 address as four "
                        + "numbers from 0 to 255 joined by dots, such as 198.18.1.1, an IPv6 one "
                        + "such as 2001:2:0:1::1, or leave 'gateway' out on a point-to-point link"
                )
                ok = false
                continue
            }
            if let first = gateways.first(where: { $0.address.family == address.family }) {
                let family = familyName(address.family)
                reader.error(
                    item,
                    "this uplink already has an \(family) gateway, \(first.address); give at most "
                        + "one \(family) and one \(family == "IPv4" ? "IPv6" : "IPv4") gateway"
                )
                ok = false
                continue
            }
            gateways.append((address, item))
        }
        return ok ? gateways : nil
    }

    /// `ipv4`, `ipv6` or a list of them, each at most once.
    static func readFamilies(_ node: Node, reader: inout YAMLReader) -> [IPFamily]? {
        guard let items = reader.scalarOrList(node, key: "family", what: "'ipv4' or 'ipv6'") else { return nil }
        var families: [IPFamily] = []
        var ok = true
        for item in items {
            guard let family = reader.choice(item, key: "family", as: IPFamily.self) else {
                ok = false
                continue
            }
            if families.contains(family) {
                reader.error(
                    item,
                    "'\(family.rawValue)' is listed twice in 'family'; list each of 'ipv4' and 'ipv6' at most once")
                ok = false
            } else {
                families.append(family)
            }
        }
        return ok ? families.sorted() : nil
    }

    /// Reads `gateway`, `family` and `masquerade6` into `draft`, checking they agree.
    static func readAddressing(
        _ fields: [String: (key: Node, value: Node)], into draft: inout UplinkDraft, reader: inout YAMLReader
    ) {
        var gateways: [(address: IPAddress, node: Node)] = []
        var known = true
        if let (_, value) = fields["gateway"] {
            if value.scalar?.string == "auto" {
                draft.gatewayAuto = true
            } else if let read = readGateways(value, reader: &reader) {
                gateways = read
            } else {
                known = false
            }
        }
        var families = gateways.isEmpty ? [IPFamily.ipv4] : gateways.map(\.address.family).sorted()
        if let (_, value) = fields["family"] {
            if let listed = readFamilies(value, reader: &reader) {
                families = listed
                for gateway in gateways where !listed.contains(gateway.address.family) {
                    let family = gateway.address.family
                    reader.error(
                        gateway.node,
                        "gateway '\(gateway.address)' is \(familyName(family)), but 'family' "
                            + "lists only \(listed.map(\.rawValue).joined(separator: " and ")); "
                            + "add \(family.rawValue) to 'family' or drop this gateway"
                    )
                }
            } else {
                known = false
            }
        }
        draft.gateways = gateways.map(\.address)
        draft.families = known ? families : nil
        if let (_, value) = fields["masquerade6"], let masquerade6 = reader.boolean(value, key: "masquerade6") {
            draft.masquerade6 = masquerade6
            if masquerade6, known, !families.contains(.ipv6) {
                reader.error(
                    value,
                    "'masquerade6: true' masquerades IPv6, and this uplink carries only IPv4; "
                        + "give it an IPv6 gateway or add ipv6 to 'family', or drop 'masquerade6'"
                )
            }
        }
    }
}
