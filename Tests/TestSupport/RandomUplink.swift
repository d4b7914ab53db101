@testable import UplinkCore

/// One uplink of a random config as it is written; nil members are left out (their defaults).
struct RandomUplink {
    var name: String
    var interface: String
    var families: [IPFamily]
    /// As written; empty for device-only families and for `gateway: auto`.
    var gateways: [String] = []
    var auto = false
    /// `family:` is written: needed where the gateways do not say it all, sometimes given anyway.
    var writesFamily = false
    var weight: Int?
    var mark: UInt32?
    var markInHex = true
    var table: UInt32?
    var masquerade: Bool?
    var masquerade6: Bool?
    /// `health:` as written: `false`, `true` or a flow mapping.
    var health: String?
    var mptcp: Bool?

    func carries(_ family: IPFamily) -> Bool { families.contains(family) }

    /// The list item, as a block mapping or (`flow`) one flow mapping.
    func yaml(flow: Bool) -> [String] {
        var fields = [("name", YAMLScalar.text(name)), ("interface", YAMLScalar.text(interface))]
        if auto {
            fields.append(("gateway", "auto"))
        } else if !gateways.isEmpty {
            let written = gateways.map(YAMLScalar.address)
            fields.append(("gateway", YAMLScalar.oneOrList(written, alone: written.count == 1)))
        }
        if writesFamily {
            fields.append(("family", YAMLScalar.oneOrList(families.map(\.rawValue), alone: families.count == 1)))
        }
        if let weight { fields.append(("weight", String(weight))) }
        if let mark { fields.append(("mark", markInHex ? hex(mark) : String(mark))) }
        if let table { fields.append(("table", String(table))) }
        if let masquerade { fields.append(("masquerade", String(masquerade))) }
        if let masquerade6 { fields.append(("masquerade6", String(masquerade6))) }
        if let health { fields.append(("health", health)) }
        if let mptcp { fields.append(("mptcp", String(mptcp))) }
        if flow { return ["  - {" + fields.map { "\($0): \($1)" }.joined(separator: ", ") + "}"] }
        return fields.enumerated().map { index, field in (index == 0 ? "  - " : "    ") + "\(field.0): \(field.1)" }
    }
}

extension ConfigDraw {
    /// How an uplink's families and gateways are written.
    enum Addressing: CaseIterable {
        case ipv4, ipv6, dual, ipv4Device, ipv6Device, dualDevice, ipv4GatewayIPv6Device, auto4, auto6, autoDual

        var families: [IPFamily] {
            switch self {
            case .ipv4, .ipv4Device, .auto4: [.ipv4]
            case .ipv6, .ipv6Device, .auto6: [.ipv6]
            case .dual, .dualDevice, .ipv4GatewayIPv6Device, .autoDual: [.ipv4, .ipv6]
            }
        }

        var auto: Bool { [.auto4, .auto6, .autoDual].contains(self) }

        /// The families it needs a gateway of on its interface.
        var gatewayFamilies: [IPFamily] {
            switch self {
            case .ipv4, .auto4, .ipv4GatewayIPv6Device: [.ipv4]
            case .ipv6, .auto6: [.ipv6]
            case .dual, .autoDual: [.ipv4, .ipv6]
            case .ipv4Device, .ipv6Device, .dualDevice: []
            }
        }

        /// `balance: ecmp` needs a gateway for every IPv6 uplink (the kernel refuses device-only
        /// IPv6 next hops in a multipath route).
        var ecmpAllowed: Bool { !carriesIPv6WithoutGateway }
        private var carriesIPv6WithoutGateway: Bool { families.contains(.ipv6) && !gatewayFamilies.contains(.ipv6) }
    }

    /// 1-8 uplinks over interfaces of their own or (sometimes) shared, each with the addresses
    /// its gateways need; `gateway: auto` gets a default route by its interface, in the main
    /// table or another one.
    mutating func drawUplinks() {
        let count = rng.int(1...8)
        var names: Set<String> = []
        var interfaceNames: Set<String> = ["lo", "all", "default"]
        for index in 0..<count {
            var addressing = rng.pick(Addressing.allCases.filter { !ecmp || $0.ecmpAllowed })
            var slot: Int
            // With ECMP, an uplink that shares an interface has an IPv4 gateway of its own, and
            // none there is `gateway: auto`: two uplinks by one gateway (or both by device) would be
            // one next hop twice, which the kernel refuses in a multipath route.
            let shareable = interfaces.indices.filter { slot in
                !ecmp
                    || (!interfaces[slot].freeIPv4.isEmpty
                        && !uplinks.contains { $0.auto && $0.interface == interfaces[slot].name })
            }
            if !shareable.isEmpty && rng.chance(0.12) {
                slot = rng.pick(shareable)
                if ecmp { addressing = .ipv4 }
                features.insert("shared-interface")
            } else {
                var name = interfaceName(interfaces.count + 1)
                while interfaceNames.contains(name) { name = interfaceName(interfaces.count + 1) }
                interfaceNames.insert(name)
                let needs = addressing.gatewayFamilies
                interfaces.append(
                    RandomInterface.make(
                        &rng, index: interfaces.count + 1, name: name,
                        ipv4: needs.contains(.ipv4) || rng.chance(0.3),
                        ipv6: needs.contains(.ipv6) || rng.chance(0.25)))
                slot = interfaces.count - 1
            }
            var uplink = RandomUplink(
                name: uplinkName(index, taken: names), interface: interfaces[slot].name,
                families: addressing.families)
            names.insert(uplink.name)
            let gateways = addressing.gatewayFamilies.compactMap { takeGateway($0, slot: slot) }
            func family(_ gateway: String) -> IPFamily { gateway.contains(":") ? .ipv6 : .ipv4 }
            if addressing.auto && !gateways.isEmpty {
                uplink.auto = true
                features.insert("gateway:auto")
                for gateway in gateways { addLearnedRoute(gateway, interface: uplink.interface) }
                // A family without a gateway to learn would keep the uplink waiting (apply refuses).
                uplink.families = gateways.map(family).sorted()
                uplink.writesFamily = uplink.families != [.ipv4] || rng.chance(0.2)
            } else {
                // Where the interface had no gateway left, the family goes by device.
                uplink.gateways = gateways
                if ecmp && uplink.carries(.ipv6) && !gateways.contains(where: { family($0) == .ipv6 }) {
                    uplink.families = [.ipv4]
                }
                let implied = gateways.isEmpty ? [IPFamily.ipv4] : gateways.map(family).sorted()
                uplink.writesFamily = uplink.families != implied || rng.chance(0.2)
            }
            drawUplinkSettings(&uplink)
            uplinks.append(uplink)
        }
        // The main table's IPv4 default route decides which uplink a bound socket's address
        // already leads to (the plan's `bound-v4`): sometimes by one of the uplinks.
        let withIPv4Gateway = uplinks.first { uplink in
            !uplink.auto && uplink.gateways.contains { !$0.contains(":") }
                && !uplinks.contains { $0.auto && $0.interface == uplink.interface }
        }
        if rng.chance(0.4), let uplink = withIPv4Gateway {
            let gateway = uplink.gateways.first { !$0.contains(":") }!
            wiring.routes.append("0.0.0.0/0 via \(gateway) dev \(uplink.interface) metric 1000")
        }
        wiring.interfaces = interfaces
    }

    /// A free gateway of `family` on interface `slot`, taken from its pool; nil when it has none.
    private mutating func takeGateway(_ family: IPFamily, slot: Int) -> String? {
        if family == .ipv4 {
            guard !interfaces[slot].freeIPv4.isEmpty else { return nil }
            return interfaces[slot].freeIPv4.removeFirst()
        }
        // A global gateway where the interface has a global address, else (or sometimes) link-local.
        let global = interfaces[slot].freeIPv6.filter { !$0.hasPrefix("fe80") }
        let linkLocal = interfaces[slot].freeIPv6.first { $0.hasPrefix("fe80") }
        let choice = !global.isEmpty && rng.chance(0.8) ? global[0] : linkLocal
        guard let choice else { return nil }
        interfaces[slot].freeIPv6.removeAll { $0 == choice }
        return choice
    }

    /// What the uplink's DHCP or PPP client would have installed: a default route by its
    /// interface, in the main table (its own metric) or another table.
    private mutating func addLearnedRoute(_ gateway: String, interface: String) {
        let any = gateway.contains(":") ? "::/0" : "0.0.0.0/0"
        if rng.chance(0.7) {
            wiring.routes.append("\(any) via \(gateway) dev \(interface) metric \(100 + wiring.routes.count)")
        } else {
            let table = UInt32(5000 + wiring.routes.count)
            foreignTables.insert(table)
            wiring.routes.append("\(any) via \(gateway) dev \(interface) table \(table)")
        }
    }

    /// Weight, masquerading: the settings that do not depend on the other uplinks.
    mutating func drawUplinkSettings(_ uplink: inout RandomUplink) {
        if rng.chance(0.5) {
            let largest = ecmp ? ConfigParser.maximumEcmpWeight : Int(ConfigParser.maximumWeight)
            uplink.weight = rng.chance(0.7) ? rng.int(1...5) : rng.int(1...largest)
        }
        if !labShaped && rng.chance(0.3) { uplink.masquerade = rng.chance(0.5) }
        if labShaped && rng.chance(0.2) { uplink.masquerade = true }
        if uplink.carries(.ipv6) && rng.chance(0.4) { uplink.masquerade6 = rng.chance(0.5) }
    }

    /// up1, a word, or 1-15 letters, digits, '-' and '_'; never `ecmp`, never taken.
    private mutating func uplinkName(_ index: Int, taken: Set<String>) -> String {
        let words = ["fibre", "cable", "lte", "wifi", "dsl", "isp-a", "isp_b", "sat", "wan", "backup", "Starlink"]
        let characters = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")
        while true {
            let name: String
            switch rng.int(0...2) {
            case 0: name = "up\(index + 1)"
            case 1: name = rng.pick(words) + (rng.chance(0.5) ? String(index + 1) : "")
            default: name = String((0..<rng.int(1...15)).map { _ in rng.pick(characters) })
            }
            if name != "ecmp" && !taken.contains(name) { return name }
        }
    }

    /// Names as interfaces have them (eth0, enp3s0, a VLAN's eth0.103, wg-home) or drawn: a
    /// letter, then up to 14 letters, digits and punctuation the kernel allows.
    private mutating func interfaceName(_ k: Int) -> String {
        let letters = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
        let rest = letters + Array("0123456789-_.")
        // Not '%': the kernel reads it as a template for a numbered name (eth%d).
        let rare = Array("+@=*~,")
        switch rng.int(0...6) {
        case 0: return "eth\(k)"
        case 1: return "enp\(k)s0"
        case 2: return "eth0.\(100 + k)"
        case 3: return rng.pick(["wlan", "ppp", "wwan", "wg-", "usb", "lte_"]) + String(k)
        default:
            var name = String(rng.pick(letters))
            for _ in 0..<rng.int(0...14) { name.append(rng.chance(0.05) ? rng.pick(rare) : rng.pick(rest)) }
            return name
        }
    }

    /// 1-3 of the lab's uplinks in any order, up1 always (it carries IPv4 and masquerades, as
    /// the host's main route and the LAN's bypassed connections leave by it); IPv6 on some.
    mutating func drawLabUplinks() {
        labIPv6 = rng.chance(0.4)
        let numbers = rng.shuffled([1] + rng.some([2, 3], count: rng.int(0...2)))
        var names: Set<String> = []
        for (index, n) in numbers.enumerated() {
            var families: [IPFamily] = [.ipv4]
            if labIPv6 { families = rng.pick(n == 1 ? [[.ipv4], [.ipv4, .ipv6]] : [[.ipv4], [.ipv4, .ipv6], [.ipv6]]) }
            var uplink = RandomUplink(name: uplinkName(index, taken: names), interface: "up\(n)", families: families)
            names.insert(uplink.name)
            if n == 1 && rng.chance(0.25) {
                uplink.auto = true
                uplink.writesFamily = families != [.ipv4]
                features.insert("gateway:auto")
            } else {
                uplink.gateways = families.map { LabUplinks.gateway(n, ipv6: $0 == .ipv6) }
                uplink.writesFamily = rng.chance(0.2)
            }
            drawUplinkSettings(&uplink)
            uplinks.append(uplink)
        }
        labIPv6 = uplinks.contains { $0.carries(.ipv6) }
        interfaces = (1...LabUplinks.count).map { n in
            let ipv6 = labIPv6 ? ["\(LabUplinks.address(n, ipv6: true))/64"] : []
            return RandomInterface(name: "up\(n)", addresses: ["\(LabUplinks.address(n))/24"] + ipv6, mac: "")
        }
    }
}
