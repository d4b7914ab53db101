/// Which clients a service takes connections from.
public enum ServiceClients: String, Sendable, Hashable, Codable, CaseIterable, Comparable {
    /// Connections arriving from other hosts (the prerouting hook).
    case outside
    /// Connections this host opens itself (the output hook).
    case local

    public static func < (a: ServiceClients, b: ServiceClients) -> Bool { a == .outside && b == .local }
}

/// One backend of a service: where some of its connections go.
public struct Backend: Sendable, Hashable, Codable {
    /// nil: this host itself, at the address the connection came to (a redirect).
    public var address: IPAddress?
    /// The port the service's first port goes to (the offset within a range is kept);
    /// nil: the port the connection came to.
    public var port: UInt16?
    public var weight: Int
    /// Source NAT toward it, so that its answers come back through this host.
    public var masquerade: Bool

    public init(address: IPAddress?, port: UInt16?, weight: Int = 1, masquerade: Bool? = nil) {
        self.address = address
        self.port = port
        self.weight = weight
        self.masquerade = masquerade ?? Backend.masqueradeByDefault(address)
    }

    /// `masquerade: auto`: on for a backend that is not on this host.
    public static func masqueradeByDefault(_ address: IPAddress?) -> Bool {
        guard let address else { return false }
        return !address.isLoopback
    }

    /// Whether connections of `family` can go to it.
    public func serves(_ family: IPFamily) -> Bool { address.map { $0.family == family } ?? true }

    /// `198.18.5.2:8080`, `[2001:2::5]:8080`, `:8001` (this host).
    public var description: String {
        (address.map { NatTarget.address($0, port: port) } ?? .thisHost(port: port)).description
    }
}

/// One entry of `services:`: connections to a port of this host (or of one of its addresses)
/// spread over backends, each new connection to one backend, in the balance mode's order.
public struct Service: Sendable, Hashable, Codable {
    public var name: String
    /// tcp (6), udp (17) or both, sorted.
    public var protocols: [UInt8]
    public var ports: PortRange
    /// Only connections to this address; nil: to any address of this host.
    public var address: IPAddress?
    public var clients: Set<ServiceClients>
    /// Outside clients only from these interfaces; empty: from any.
    public var interfaces: [String]
    /// nth, random or hash (ecmp is for uplinks only).
    public var balance: BalanceMode
    public var backends: [Backend]
    /// How `run` checks each backend (a TCP connect to it); nil: never checked, always in.
    public var health: HealthCheck?

    public init(
        name: String, protocols: [UInt8] = [IPProtocolNumber.tcp], ports: PortRange, address: IPAddress? = nil,
        clients: Set<ServiceClients> = [.outside, .local], interfaces: [String] = [], balance: BalanceMode = .nth,
        backends: [Backend], health: HealthCheck? = Service.defaultHealth
    ) {
        self.name = name
        self.protocols = protocols.uniqued().sorted()
        self.ports = ports
        self.address = address
        self.clients = clients
        self.interfaces = interfaces
        self.balance = balance
        self.backends = backends
        self.health = health
    }

    /// A TCP connect to each backend: the uplinks' timing (out in under a second).
    public static let defaultHealth = HealthCheck(
        targets: [], method: .tcp, port: nil, interval: Milliseconds(150),
        timeout: Milliseconds(300), down: 4, up: 3)

    /// The families it listens in: its address's; else those of its backends' addresses; a
    /// service whose backends are all on this host listens in both.
    public var families: [IPFamily] {
        if let address { return [address.family] }
        let given = backends.compactMap(\.address).map(\.family).uniqued().sorted()
        return given.isEmpty ? IPFamily.allCases : given
    }

    /// `api-1`, `api-2`, …: a backend's name in counters, chains, logs and status (by position).
    public func backendName(_ index: Int) -> String { "\(name)-\(index + 1)" }

    /// The named nft counter of its backend's new connections: `backend-api-1`.
    public func counterName(_ index: Int) -> String { "backend-" + backendName(index) }

    /// The ports a backend takes: the service's, moved to the backend's port (the offset kept).
    public func ports(of backend: Backend) -> PortRange {
        backend.port.map { PortRange($0, $0 + (ports.upper - ports.lower)) } ?? ports
    }

    /// The backends serving `family`, with their positions.
    public func backends(_ family: IPFamily) -> [(index: Int, backend: Backend)] {
        backends.enumerated().filter { $0.element.serves(family) }.map { ($0.offset, $0.element) }
    }

    /// `tcp 8080 on any address of this host`, `tcp,udp 8000-8010 on 198.18.0.65`.
    public var listens: String {
        let names = protocols.map { IPProtocolNumber.name($0) ?? String($0) }.joined(separator: ",")
        return "\(names) \(ports) on \(address.map(\.description) ?? "any address of this host")"
    }

    /// A backend's slots among the backends of `family`, and how many there are.
    public func slots(of index: Int, _ family: IPFamily) -> (slots: Int, total: Int)? {
        let members = backends(family)
        guard let position = members.firstIndex(where: { $0.index == index }) else { return nil }
        let weights = reducedWeights(members.map(\.backend.weight))
        return (weights[position], weights.reduce(0, +))
    }

    /// Which backends hold backend `index`'s slots of `family` while the backends named in
    /// `down` are out (as the planner repoints them); empty when it is in, or none is left.
    public func heirs(of index: Int, _ family: IPFamily, down: Set<String>) -> [String] {
        let members = backends(family)
        guard let position = members.firstIndex(where: { $0.index == index }) else { return [] }
        let weights = reducedWeights(members.map(\.backend.weight))
        let before = smoothSlotOrder(weights: weights)
        let live = Set(members.indices.filter { !down.contains(backendName(members[$0].index)) })
        let after = repointedSlotOrder(before, weights: weights, live: live)
        let taken = before.indices.filter { before[$0] == position && after[$0] != position }.map { after[$0] }
        return taken.uniqued().map { backendName(members[$0].index) }
    }

    /// What `check` says of it: where it listens, for whom, and where its connections go.
    public var summary: String {
        let spread = backends.indices.map { index in
            let backend = backends[index]
            let shares = families.compactMap { family in
                slots(of: index, family).map {
                    "\($0.slots)/\($0.total)" + (families.count > 1 ? " of \(familyName(family))" : "")
                }
            }
            let nat = backend.masquerade ? ", masqueraded" : ""
            return "\(backendName(index)) \(backend.description) (\(shares.joined(separator: ", "))\(nat))"
        }
        let from = clients.sorted().map { kind in
            kind == .outside && !interfaces.isEmpty
                ? "outside clients by \(interfaces.joined(separator: ", "))" : "\(kind.rawValue) clients"
        }.joined(separator: " and ")
        return "service \(name): \(listens), \(from); \(balance.rawValue) over \(spread.joined(separator: ", "))"
    }

    /// IPv4 loopback backends that outside clients reach: they need route_localnet.
    public var needsRouteLocalnet: Bool {
        clients.contains(.outside)
            && backends.contains { $0.address.map { $0.family == .ipv4 && $0.isLoopback } ?? false }
    }
}

extension IPAddress {
    /// 127.0.0.0/8 and ::1.
    public var isLoopback: Bool {
        IPPrefix.loopback(family).contains(self)
    }

    /// 224.0.0.0/4 and ff00::/8.
    public var isMulticast: Bool { family == .ipv4 ? bytes[0] & 0xf0 == 0xe0 : bytes[0] == 0xff }

    /// Nothing a connection can be sent to: unspecified, multicast, the IPv4 broadcast address.
    public var isUnicast: Bool {
        self != .zero(family) && !isMulticast && !(family == .ipv4 && bytes == [255, 255, 255, 255])
    }
}
