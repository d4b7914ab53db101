@testable import UplinkCore

extension ConfigDraw {
    /// Policy entries as YAML list items: each match key now and then (destination and source
    /// prefixes of both families, protocols by name and number, port lists and ranges, incoming
    /// interfaces), one of the three actions, sometimes a fallback; now and then a run of entries
    /// that match the same keys (compiled into one verdict map, intervals and all). Every entry
    /// can match something (the parser refuses one that cannot) and its uplinks carry a family it
    /// matches. In the lab, the values lean to what the lab's connections carry.
    mutating func drawPolicies() -> [String] {
        guard rng.chance(0.6) else { return [] }
        var entries: [String] = []
        for _ in 0..<rng.int(1...4) {
            guard rng.chance(0.3) else {
                entries += policy(keys: nil)
                continue
            }
            let keys = Set(
                rng.some(
                    ["destination", "source", "protocol", "destination-port", "in-interface"],
                    count: rng.int(1...3)))
            for _ in 0..<rng.int(2...8) { entries += policy(keys: keys) }
        }
        return entries
    }

    /// One entry: with `keys`, exactly those match keys (a port brings `protocol` with it).
    private mutating func policy(keys: Set<String>?) -> [String] {
        var fields: [(String, String)] = []
        var match = PolicyMatch()
        let keys = keys.map { $0.contains("destination-port") ? $0.union(["protocol"]) : $0 }
        func given(_ key: String, _ p: Double) -> Bool { keys.map { $0.contains(key) } ?? rng.chance(p) }
        for _ in 0..<20 {
            fields = []
            match = PolicyMatch()
            if given("destination", 0.4) {
                let prefixes = (0..<rng.int(1...3)).map { _ in policyPrefix(destination: true) }
                match.destinations = prefixes.compactMap(IPPrefix.init)
                fields.append(("destination", list(prefixes.map(YAMLScalar.address))))
            }
            if given("source", 0.25) {
                let prefixes = (0..<rng.int(1...2)).map { _ in policyPrefix(destination: false) }
                match.sources = prefixes.compactMap(IPPrefix.init)
                fields.append(("source", list(prefixes.map(YAMLScalar.address))))
            }
            if given("protocol", 0.5) {
                let withPorts = keys?.contains("destination-port") == true
                let names = ["tcp", "udp", "6", "17"] + (withPorts ? [] : ["icmp", "icmpv6", "ipv6-icmp", "47", "132"])
                let written = rng.some(names, count: rng.int(1...2))
                match.protocols = written.map { YAMLReader.protocolNames[$0] ?? UInt8($0)! }
                fields.append(("protocol", list(written)))
            }
            let withPorts =
                !match.protocols.isEmpty
                && match.protocols.allSatisfy { $0 == IPProtocolNumber.tcp || $0 == IPProtocolNumber.udp }
            if withPorts && given("destination-port", 0.6) {
                let ports = (0..<rng.int(1...3)).map { _ in port(source: false) }
                match.destinationPorts = ports.map(\.range)
                fields.append(("destination-port", list(ports.map(\.text))))
            }
            if withPorts && keys == nil && rng.chance(0.2) {
                let ports = (0..<rng.int(1...2)).map { _ in port(source: true) }
                match.sourcePorts = ports.map(\.range)
                fields.append(("source-port", list(ports.map(\.text))))
            }
            if given("in-interface", 0.2) {
                let others = ["lan0", "br-guest", "wg0", "eth0.7"] + uplinks.map(\.interface)
                let pool = labShaped ? ["lan0", "lan1"] : others
                let names = rng.some(pool, count: rng.int(1...2))
                match.inputInterfaces = names
                fields.append(("in-interface", list(names.map(YAMLScalar.text))))
            }
            if !PolicyCoverage.families(match).isEmpty { break }
        }
        let matched = Set(PolicyCoverage.families(match))
        let carriers = uplinks.filter { !matched.isDisjoint(with: $0.families) }
        var named = false
        switch (rng.int(0...2), carriers.isEmpty) {
        case (0, false):
            fields.append(("uplink", YAMLScalar.text(rng.pick(carriers).name)))
            named = true
        case (1, false) where !ecmp:
            let members = [rng.pick(carriers).name] + rng.some(uplinks.map(\.name), count: rng.int(0...2))
            let shares = members.uniqued().map { name in
                "\(YAMLScalar.text(name)): \(rng.chance(0.8) ? rng.int(1...4) : rng.int(1...1000))"
            }
            fields.append(("balance", "{" + shares.joined(separator: ", ") + "}"))
            named = true
        default:
            fields.append(("bypass", "true"))
        }
        if named && rng.chance(0.3) {
            let fallback = rng.chance(0.5) ? rng.pick(["balance", "none"]) : YAMLScalar.text(rng.pick(uplinks).name)
            fields.append(("fallback", fallback))
        }
        if rng.chance(0.3) { fields = rng.shuffled(fields) }
        return fields.enumerated().map { index, field in (index == 0 ? "  - " : "    ") + "\(field.0): \(field.1)" }
    }

    /// One value alone (sometimes), else a flow list.
    private mutating func list(_ values: [String]) -> String {
        YAMLScalar.oneOrList(values, alone: rng.chance(0.6))
    }

    /// A prefix inside 198.18.0.0/15 or 2001:2::/48 (host bits cleared); in the lab, mostly
    /// one that the lab's connections have: the server's two addresses, the LAN, the host's.
    private mutating func policyPrefix(destination: Bool) -> String {
        if labShaped && rng.chance(0.7) {
            let destinations =
                [
                    "198.19.0.1", "198.19.0.2", "198.19.0.0/24", "198.19.0.0/31", "198.18.0.0/15",
                    "198.18.200.0/24", "198.18.200.2"
                ]
                + (labIPv6 ? ["2001:2:0:ff::1", "2001:2::/48", "2001:2:0:200::/64"] : [])
            let sources =
                ["198.18.200.0/24", "198.18.200.2", "198.18.1.2", "198.18.0.0/16"]
                + (labIPv6 ? ["2001:2:0:200::/64", "2001:2:0:1::2", "2001:2::/48"] : [])
            return rng.pick(destination ? destinations : sources)
        }
        if rng.chance(0.6) {
            let length = rng.chance(0.3) ? 32 : rng.int(15...32)
            let bytes = [198, 18 + rng.int(0...1), rng.int(0...255), rng.int(0...255)].map(UInt8.init)
            let address = IPAddress(bytes: bytes)!
            return IPPrefix(address: address, length: length)!.description
        }
        let length = rng.chance(0.3) ? 128 : rng.int(48...128)
        let low = (0..<10).map { _ in UInt8(rng.int(0...255)) }
        return IPPrefix(address: IPAddress(bytes: [0x20, 0x01, 0, 2, 0, 0] + low)!, length: length)!.description
    }

    /// A port or a range; in the lab, source ports stay below the ephemeral range (32768 on),
    /// so that whether an entry matches does not depend on the port the kernel picks.
    private mutating func port(source: Bool) -> (text: String, range: PortRange) {
        if !source && rng.chance(labShaped ? 0.7 : 0.4) {
            let port = rng.pick([7, 22, 53, 80, 443])
            return (String(port), PortRange(UInt16(port)))
        }
        let top = source && labShaped ? 32767 : 65535
        let lower = rng.int(1...top)
        if rng.chance(0.5) { return (String(lower), PortRange(UInt16(lower))) }
        let upper = min(top, lower + rng.int(0...(rng.chance(0.8) ? 100 : 30000)))
        return ("\"\(lower)-\(upper)\"", PortRange(UInt16(lower), UInt16(upper)))
    }
}
