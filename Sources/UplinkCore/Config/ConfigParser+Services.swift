import Yams

/// Reading `services:`, one entry at a time, then what concerns several entries (listeners
/// that overlap) or the policies.
extension ConfigParser {
    static let serviceKeys = [
        "name", "protocol", "port", "address", "clients", "interfaces", "balance", "backends",
        "masquerade", "health"
    ]
    static let backendKeys = ["address", "port", "weight"]
    static let serviceBalanceSynonyms: [String: ServiceBalance] = [
        "roundrobin": .nth, "round-robin": .nth, "round_robin": .nth, "rr": .nth, "wrr": .nth, "weighted": .nth,
        "rand": .random, "shuffle": .random, "source": .hash, "sticky": .hash
    ]

    /// The balance modes of a service, as `balance:` names them.
    enum ServiceBalance: String, CaseIterable {
        case nth, random, hash
        var mode: BalanceMode {
            switch self {
            case .nth: return .nth
            case .random: return .random
            case .hash: return .hash
            }
        }
    }

    /// A service's protocols: those with ports.
    enum ServiceProtocol: String, CaseIterable {
        case tcp, udp
        var number: UInt8 { self == .tcp ? IPProtocolNumber.tcp : IPProtocolNumber.udp }
    }
    /// A range whose backends move the port (8003 → 9003) takes one rule per port and backend.
    static let maximumShiftedPorts = 256

    struct ServiceDraft {
        var service: Service
        var nameNode: Node
        var portNode: Node
    }

    static func readServices(_ node: Node, policies: [Policy], reader: inout YAMLReader) -> [Service]? {
        guard let items = reader.sequence(node, key: "services", example: "'- name: api'") else { return nil }
        let before = reader.errorCount
        let drafts = items.compactMap { readService($0, reader: &reader) }
        checkListeners(drafts, reader: &reader)
        checkPolicyOverlap(drafts, policies: policies, reader: &reader)
        return reader.errorCount == before ? drafts.map(\.service) : nil
    }

    private static func readService(_ node: Node, reader: inout YAMLReader) -> ServiceDraft? {
        let before = reader.errorCount
        let fields = reader.fields(of: node, named: "a service", allowed: serviceKeys)
        guard node.mapping != nil else { return nil }
        var name: String?
        let nameNode = fields["name"]?.value ?? node
        if let (_, value) = fields["name"],
            let text = reader.string(value, key: "name", what: "a name of 1 to 15 letters, digits, '-' or '_'")
        {
            if let problem = nameProblem(text, of: "service") { reader.error(value, problem) } else { name = text }
        } else if fields["name"] == nil {
            reader.error(
                node, "this service has no 'name'; give it a unique name of 1 to 15 letters, digits, '-' or '_'")
        }
        var protocols = [IPProtocolNumber.tcp]
        if let (_, value) = fields["protocol"],
            let items = reader.scalarOrList(value, key: "protocol", what: "'tcp' or 'udp'")
        {
            protocols = items.compactMap { item in
                if let text = item.scalar?.string, ServiceProtocol(rawValue: text) == nil,
                    YAMLReader.protocolNames[text] != nil
                {
                    reader.error(
                        item,
                        "a service's 'protocol' is 'tcp', 'udp' or [tcp, udp]: DNAT to a "
                            + "port needs a protocol with ports, and '\(text)' has none"
                    )
                    return nil
                }
                return reader.choice(item, key: "protocol", as: ServiceProtocol.self)?.number
            }
        }
        var ports: PortRange?
        let portNode = fields["port"]?.value ?? node
        if let (_, value) = fields["port"] {
            ports = reader.portRange(value, key: "port")
        } else {
            reader.error(
                node, "this service has no 'port'; give the port (or range such as 8000-8010) its clients connect to")
        }
        var address: IPAddress?
        if let (_, value) = fields["address"],
            let text = reader.string(value, key: "address", what: "an address of this host such as 198.18.0.1")
        {
            address = IPAddress(text)
            if address == nil {
                reader.error(
                    value,
                    "'address' must be one address of this host such as 198.18.0.1 or 2001:2::1; '\(text)' is not")
            }
            if let given = address, given == .zero(given.family) {
                reader.error(
                    value,
                    "'address: \(text)' is no address a connection goes to; leave "
                        + "'address' out to listen on any address of this host"
                )
                address = nil
            }
        }
        var clients: Set<ServiceClients> = [.outside, .local]
        if let (_, value) = fields["clients"],
            let items = reader.scalarOrList(value, key: "clients", what: "'outside' or 'local'")
        {
            clients = Set(items.compactMap { reader.choice($0, key: "clients", as: ServiceClients.self) })
        }
        var interfaces: [String] = []
        if let (key, value) = fields["interfaces"],
            let items = reader.scalarOrList(value, key: "interfaces", what: "an interface name such as lan0")
        {
            interfaces = items.compactMap { item in
                guard let text = reader.string(item, key: "interfaces", what: "an interface name such as lan0") else {
                    return nil
                }
                if let problem = interfaceNameProblem(text) {
                    reader.error(item, problem)
                    return nil
                }
                return text
            }
            if !clients.contains(.outside) {
                reader.error(
                    key,
                    "'interfaces' says where outside clients come from, and this service "
                        + "takes only local clients; drop it, or add 'outside' to 'clients'"
                )
            }
        }
        var balance = BalanceMode.nth
        if let (_, value) = fields["balance"] {
            if value.scalar?.string == BalanceMode.ecmp.rawValue {
                reader.error(
                    value,
                    "a service balances with 'nth', 'random' or 'hash' (the "
                        + "client's address); 'ecmp' is a routing choice for uplinks"
                )
            } else if let mode = reader.choice(
                value, key: "balance", as: ServiceBalance.self, synonyms: serviceBalanceSynonyms)
            {
                balance = mode.mode
            }
        }
        var masquerade: Bool?
        if let (_, value) = fields["masquerade"] {
            if case .scalar(let scalar) = value, scalar.string == "auto" {
                masquerade = nil
            } else {
                masquerade = reader.boolean(value, key: "masquerade")
            }
        }
        // A UDP-only service's backends may not answer a TCP connect: checked only when asked.
        var health: HealthCheck? = protocols == [IPProtocolNumber.udp] ? nil : Service.defaultHealth
        if let (_, value) = fields["health"] { health = readServiceHealth(value, reader: &reader) }
        var backends: [Backend] = []
        if let (_, value) = fields["backends"],
            let items = reader.sequence(value, key: "backends", example: "['198.18.5.2:8080', '198.18.5.3:8080']")
        {
            if items.isEmpty {
                reader.error(value, "'backends' is empty; list at least one, such as '198.18.5.2:8080'")
            }
            for item in items {
                guard var backend = readBackend(item, reader: &reader) else { continue }
                if masquerade == true && backend.address.map(\.isLoopback) ?? true {
                    reader.error(
                        item,
                        "backend \(backend.description) is on this host and needs no "
                            + "'masquerade' (its answers never leave); set 'masquerade: auto'"
                    )
                }
                backend.masquerade = masquerade ?? Backend.masqueradeByDefault(backend.address)
                checkBackend(
                    backend, item, address: address, clients: clients, interfaces: interfaces, ports: ports,
                    reader: &reader)
                if backends.contains(where: { $0.address == backend.address && $0.port == backend.port }) {
                    reader.error(
                        item,
                        "backend \(backend.description) is listed twice; list "
                            + "it once, with a 'weight' for a larger share"
                    )
                }
                backends.append(backend)
            }
        } else if fields["backends"] == nil {
            reader.error(
                node,
                "this service has no 'backends'; list where its connections "
                    + "go, such as ['198.18.5.2:8080', '198.18.5.3:8080']"
            )
        }
        guard reader.errorCount == before, let name, let ports else { return nil }
        let service = Service(
            name: name, protocols: protocols, ports: ports, address: address, clients: clients, interfaces: interfaces,
            balance: balance, backends: backends, health: health)
        return ServiceDraft(service: service, nameNode: nameNode, portNode: portNode)
    }

    /// `ADDRESS:PORT`, `[IPv6]:PORT`, `ADDRESS`, or `{address, port, weight}`; `{port: N}` alone is this host.
    private static func readBackend(_ node: Node, reader: inout YAMLReader) -> Backend? {
        let what =
            "'ADDRESS:PORT' such as 198.18.5.2:8080 or [2001:2::5]:8080, "
            + "or a mapping with 'address', 'port' and 'weight'"
        if case .scalar = node {
            guard let text = reader.string(node, key: "backends", what: what) else { return nil }
            switch Self.endpoint(text) {
            case .endpoint(let address, let port):
                let groups = text.split(separator: ":", omittingEmptySubsequences: false)
                if address.family == .ipv6, port == nil, let last = groups.last, last.count >= 2,
                    last.allSatisfy(\.isNumber)
                {
                    let bracketed = "[\(groups.dropLast().joined(separator: ":"))]:\(last)"
                    reader.warning(
                        node,
                        "backend '\(text)' is read as the IPv6 address \(address), keeping "
                            + "the service's port; for port \(last) write it as '\(bracketed)'"
                    )
                }
                return Backend(address: address, port: port)
            case .badPort(let port):
                reader.error(node, "the port in backend '\(text)' must be from 1 to 65535; '\(port)' is not")
            case .bracketsWithoutPort(let address):
                reader.error(
                    node,
                    "backend '\(text)' has brackets but no port; write [\(address)]:PORT, "
                        + "or \(address) alone to keep the service's port"
                )
            case .invalid:
                reader.error(
                    node, "a backend must be \(what), or an address alone (the service's port); '\(text)' is not")
            }
            return nil
        }
        let before = reader.errorCount
        let fields = reader.fields(of: node, named: "a backend", allowed: backendKeys)
        guard node.mapping != nil else { return nil }
        var address: IPAddress?
        if let (_, value) = fields["address"],
            let text = reader.string(value, key: "address", what: "an address such as 198.18.5.2")
        {
            address = IPAddress(text)
            if address == nil {
                reader.error(
                    value, "a backend's 'address' must be an address such as 198.18.5.2 or 2001:2::5; '\(text)' is not")
            }
        }
        var port: UInt16?
        if let (_, value) = fields["port"],
            let number = reader.integer(value, key: "port", in: 1...65535, what: "a port from 1 to 65535")
        {
            port = UInt16(number)
        }
        if fields["address"] == nil && fields["port"] == nil {
            reader.error(
                node,
                "this backend has neither 'address' nor 'port'; give both, 'address' "
                    + "alone (the service's port), or 'port' alone (a port of this host)"
            )
        }
        var weight = 1
        if let (_, value) = fields["weight"],
            let number = reader.integer(
                value, key: "weight", in: 1...maximumWeight, what: "a whole number from 1 to \(maximumWeight)")
        {
            weight = Int(number)
        }
        guard reader.errorCount == before else { return nil }
        return Backend(address: address, port: port, weight: weight)
    }

    enum EndpointText {
        case endpoint(IPAddress, UInt16?)
        case badPort(Substring)
        case bracketsWithoutPort(IPAddress)
        case invalid
    }

    /// `198.18.5.2:8080`, `[2001:2::5]:8080`, or an address alone.
    static func endpoint(_ text: String) -> EndpointText {
        func port(_ text: Substring) -> UInt16? {
            guard let value = UInt16(text), value > 0, String(value) == text else { return nil }
            return value
        }
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            let inside = text[text.index(after: text.startIndex)..<close]
            guard let address = IPAddress(String(inside)), address.family == .ipv6 else { return .invalid }
            let rest = text[text.index(after: close)...]
            if rest.isEmpty { return .bracketsWithoutPort(address) }
            guard rest.hasPrefix(":") else { return .invalid }
            guard let value = port(rest.dropFirst()) else { return .badPort(rest.dropFirst()) }
            return .endpoint(address, value)
        }
        if let address = IPAddress(text) { return .endpoint(address, nil) }
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let address = IPAddress(String(parts[0])) else { return .invalid }
        guard let value = port(parts[1]) else { return parts[1].allSatisfy(\.isNumber) ? .badPort(parts[1]) : .invalid }
        return .endpoint(address, value)
    }

    private static func checkBackend(
        _ backend: Backend, _ node: Node, address: IPAddress?, clients: Set<ServiceClients>,
        interfaces: [String], ports: PortRange?, reader: inout YAMLReader
    ) {
        if let own = backend.address, !own.isUnicast {
            reader.error(
                node,
                "backend \(backend.description) is no address a connection can go to "
                    + "(unspecified, multicast or broadcast); give one host's address"
            )
            return
        }
        if let address, let own = backend.address, own.family != address.family {
            reader.error(
                node,
                "backend \(backend.description) is \(familyName(own.family)), and the service's address \(address) "
                    + "is \(familyName(address.family)); DNAT keeps the family, so give a backend of the same family"
            )
            return
        }
        if let own = backend.address, own.isLoopback, clients.contains(.outside) {
            loopbackForOutsideClients(backend, own, node, interfaces: interfaces, reader: &reader)
        }
        checkPorts(backend, node, ports, &reader)
    }

    /// Outside clients reach a 127.0.0.0/8 backend only by route_localnet on named interfaces; ::1 never.
    private static func loopbackForOutsideClients(
        _ backend: Backend, _ own: IPAddress, _ node: Node, interfaces: [String],
        reader: inout YAMLReader
    ) {
        if own.family == .ipv6 {
            reader.error(
                node,
                "backend \(backend.description) is IPv6 loopback, which outside clients can "
                    + "never reach (IPv6 has no route_localnet); give 'port' alone (this "
                    + "host, at the address the connection came to), or 'clients: [local]'"
            )
        } else if interfaces.isEmpty {
            reader.error(
                node,
                "backend \(backend.description) is on 127.0.0.0/8 and outside clients reach it only with "
                    + "route_localnet, which uplinkctl sets on the interfaces they come from (guarded: nothing "
                    + "else on 127.0.0.0/8 becomes reachable); name them in 'interfaces', or write the backend "
                    + "as 'port: \(backend.port.map(String.init) ?? "N")' alone (this host, no route_localnet)"
            )
        }
    }

    /// In a range, the offset is kept: the backend's ports must fit, and a moved range is one rule per port.
    private static func checkPorts(_ backend: Backend, _ node: Node, _ ports: PortRange?, _ reader: inout YAMLReader) {
        guard let ports, let port = backend.port, ports.lower != ports.upper else { return }
        let span = Int(ports.upper) - Int(ports.lower)
        if Int(port) + span > 65535 {
            reader.error(
                node,
                "backend \(backend.description) takes ports \(port)-\(Int(port) + span) for the "
                    + "service's \(ports) (the offset is kept), past 65535; give a lower first port"
            )
        } else if port != ports.lower && span + 1 > maximumShiftedPorts {
            reader.error(
                node,
                "backend \(backend.description) moves the service's \(span + 1) ports \(ports) to "
                    + "\(port)-\(Int(port) + span): that takes one rule per port, at most "
                    + "\(maximumShiftedPorts); keep the same ports (leave 'port' out) or use a smaller range"
            )
        }
    }

    static let serviceHealthKeys = ["interval", "timeout", "down", "up"]

    /// `health: false`, `true`, or a mapping of `interval`, `timeout`, `down`, `up`: a TCP
    /// connect to each backend. nil for `false` (mistakes are reported, and the service is then not used).
    private static func readServiceHealth(_ node: Node, reader: inout YAMLReader) -> HealthCheck? {
        if case .scalar = node {
            return reader.boolean(node, key: "health") == false ? nil : Service.defaultHealth
        }
        let fields = reader.fields(
            of: node, named: "a service's 'health' (a TCP connect to each backend)", allowed: serviceHealthKeys)
        var check = Service.defaultHealth
        readTiming(fields, into: &check, reader: &reader)
        return check
    }

    /// Two services that would catch the same connection: a protocol, a port, a family and a
    /// kind of client in common, on the same address (or either on any).
    private static func checkListeners(_ drafts: [ServiceDraft], reader: inout YAMLReader) {
        var names: [String: Node] = [:]
        for (index, draft) in drafts.enumerated() {
            let service = draft.service
            if let first = names[service.name] {
                reader.error(
                    draft.nameNode,
                    "service name '\(service.name)' is used twice (first at line "
                        + "\(reader.location(of: first).line)); names must be unique"
                )
            } else {
                names[service.name] = draft.nameNode
            }
            for earlier in drafts[..<index].map(\.service) {
                // `interfaces` separate outside clients only: the host's own come by none.
                let outside =
                    service.clients.contains(.outside) && earlier.clients.contains(.outside)
                    && (service.interfaces.isEmpty || earlier.interfaces.isEmpty
                        || !Set(service.interfaces).isDisjoint(with: earlier.interfaces))
                let local = service.clients.contains(.local) && earlier.clients.contains(.local)
                let overlap =
                    !Set(service.protocols).isDisjoint(with: earlier.protocols)
                    && service.ports.lower <= earlier.ports.upper && earlier.ports.lower <= service.ports.upper
                    && !Set(service.families).isDisjoint(with: earlier.families) && (outside || local)
                    && (service.address == nil || earlier.address == nil || service.address == earlier.address)
                guard overlap else { continue }
                reader.error(
                    draft.portNode,
                    "service '\(service.name)' listens on port "
                        + "\(service.ports)\(service.address.map { " of \($0)" } ?? ""), which overlaps service "
                        + "'\(earlier.name)' (\(earlier.ports)\(earlier.address.map { " of \($0)" } ?? "")): a "
                        + "connection can go to one service only; give them ports (or addresses) of their own"
                )
            }
        }
    }

    /// A policy that names a service's port: it still applies, but only to connections to
    /// other hosts; connections to this host's service are translated, never balanced.
    private static func checkPolicyOverlap(_ drafts: [ServiceDraft], policies: [Policy], reader: inout YAMLReader) {
        for draft in drafts {
            let service = draft.service
            let overlapping = { (range: PortRange) in
                range.lower <= service.ports.upper && service.ports.lower <= range.upper
            }
            for policy in policies
            where policy.match.destinationPorts.contains(where: overlapping)
                && (policy.match.protocols.isEmpty || !Set(policy.match.protocols).isDisjoint(with: service.protocols))
                && (policy.match.destinations.isEmpty
                    || service.address.map { address in policy.match.destinations.contains { $0.contains(address) } }
                        == true)
            {
                reader.warning(
                    draft.portNode,
                    "the policy at line \(policy.line) matches port \(service.ports) too: it applies to "
                        + "connections to other hosts; connections to this host's service "
                        + "'\(service.name)' are sent to its backends and never balanced over the uplinks"
                )
            }
        }
    }
}
