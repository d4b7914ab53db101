@testable import UplinkCore

extension ConfigDraw {
    /// 0-3 services as YAML list items, each on ports of its own (listeners never overlap):
    /// protocols, an address or none, clients, interfaces that exist or not, every balance
    /// mode, every backend form (ADDRESS:PORT, [IPv6]:PORT, ADDRESS, a mapping, this host by
    /// port, 127.0.0.1 and ::1 where the parser allows them), masquerade and health.
    mutating func drawServices() -> [String] {
        guard rng.chance(0.3) else { return [] }
        return (0..<rng.int(1...3)).flatMap { service($0) }
    }

    private mutating func service(_ index: Int) -> [String] {
        let name = rng.pick(["api", "web", "dns", "db", "s"]) + String(index + 1)
        var fields: [(String, String)] = [("name", YAMLScalar.text(name))]
        let protocols = rng.pick([[], ["tcp"], ["udp"], ["tcp", "udp"]])
        if !protocols.isEmpty { fields.append(("protocol", YAMLScalar.oneOrList(protocols, alone: rng.chance(0.7)))) }
        // Ports of their own: 2000-2999 for the first service, 3000-3999 for the second, …
        let lower = 2000 + 1000 * index + rng.int(0...900)
        let span = rng.chance(0.7) ? 0 : rng.int(1...8)
        fields.append(("port", span == 0 ? String(lower) : "\"\(lower)-\(lower + span)\""))
        var family: IPFamily?
        if rng.chance(0.4) {
            family = rng.chance(0.6) ? .ipv4 : .ipv6
            let address = family == .ipv4 ? "198.18.\(200 + index).1" : "2001:2:0:\(200 + index)::1"
            fields.append(("address", YAMLScalar.address(address)))
        }
        var clients: Set<ServiceClients> = [.outside, .local]
        if rng.chance(0.4) {
            let written = rng.pick([["outside"], ["local"], ["outside", "local"], ["local", "outside"]])
            clients = Set(written.compactMap(ServiceClients.init))
            fields.append(("clients", YAMLScalar.oneOrList(written, alone: rng.chance(0.5))))
        }
        var interfaces: [String] = []
        if clients.contains(.outside) && rng.chance(0.4) {
            interfaces = rng.some(serviceInterfaces(), count: rng.int(1...2))
            fields.append(("interfaces", YAMLScalar.oneOrList(interfaces.map(YAMLScalar.text), alone: rng.chance(0.5))))
        }
        if rng.chance(0.5) { fields.append(("balance", rng.pick(["nth", "random", "hash"]))) }
        let backends = self.backends(index, family: family, outside: clients.contains(.outside), interfaces: interfaces)
        fields.append(("backends", "[" + backends.written.joined(separator: ", ") + "]"))
        if rng.chance(0.3) {
            // `true` is refused for a backend on this host.
            fields.append(("masquerade", rng.pick(backends.onThisHost ? ["auto", "false"] : ["auto", "true", "false"])))
        }
        if rng.chance(0.25) {
            let health = ["false", "true", "{interval: 1s, down: 2}", "{timeout: 50ms}", "{up: 5, interval: 300ms}"]
            fields.append(("health", rng.pick(health)))
        }
        return fields.enumerated().map { index, field in (index == 0 ? "  - " : "    ") + "\(field.0): \(field.1)" }
    }

    /// Interfaces outside clients may come from: some exist (the uplinks', or bare ones the
    /// host gets), some do not (yet).
    private mutating func serviceInterfaces() -> [String] {
        if labShaped { return ["lan0", "up1", "br-later"] }
        for name in ["svc0", "svc1"] where !wiring.bare.contains(name) && rng.chance(0.5) { wiring.bare.append(name) }
        return ["svc0", "svc1", "gone0"] + uplinks.map(\.interface)
    }

    /// 1-4 backends of the service's family (any family without an address); loopback ones
    /// only where the parser takes them: IPv4 for outside clients with `interfaces`, IPv6
    /// for local clients only.
    private mutating func backends(
        _ service: Int, family: IPFamily?, outside: Bool,
        interfaces: [String]
    ) -> (written: [String], onThisHost: Bool) {
        var written: [String] = []
        var seen: Set<String> = []
        var onThisHost = false
        for index in 0..<rng.int(1...4) {
            let kind = family ?? (rng.chance(0.6) ? .ipv4 : .ipv6)
            let port: Int? = rng.chance(0.6) ? rng.int(1024...60000) : nil
            var address =
                kind == .ipv4
                ? "198.18.\(150 + service).\(10 + index)"
                : "2001:2:0:\(150 + service)::\(10 + index)"
            let loopbackAllowed = kind == .ipv4 ? (!outside || !interfaces.isEmpty) : !outside
            if loopbackAllowed && rng.chance(0.2) { address = kind == .ipv4 ? "127.0.0.1" : "::1" }
            var form = rng.int(0...3)
            if form == 3 && port == nil { form = 2 }
            let text: String
            switch form {
            case 0:
                text = port.map { kind == .ipv4 ? "\(address):\($0)" : "[\(address)]:\($0)" } ?? address
            case 1:
                let weight = rng.chance(0.5) ? ", weight: \(rng.int(1...5))" : ""
                text = "{address: \(YAMLScalar.address(address))" + (port.map { ", port: \($0)" } ?? "") + weight + "}"
            case 2:
                text = address
            default:
                // This host, at the address the connection came to.
                text = "{port: \(port!)}"
                address = "this-host"
                onThisHost = true
            }
            if address == "127.0.0.1" || address == "::1" { onThisHost = true }
            let key = "\(address) \(form == 2 ? "-" : port.map(String.init) ?? "-")"
            guard seen.insert(key).inserted else { continue }
            written.append(form == 0 || form == 2 ? "\"\(text)\"" : text)
        }
        return (written, onThisHost)
    }
}
