/// Plans the services' part of the `inet uplinkctl` table: incoming connections spread over
/// backends by DNAT, in the shape of kube-proxy's nftables mode.
///
/// Packet path: the nat hooks at dstnat priority (`services-in` for outside clients in
/// prerouting, `services-out` for the host's own in output) send a new connection to a
/// listener (address or any local address, protocol, ports) to `service-NAME-vN`. There the
/// balance mode's generator picks a slot of `backends-NAME-vN` (the uplinks' smooth weighted
/// order), which goes to `backend-NAME-K`: it counts the connection and translates its
/// destination. Later packets follow conntrack's translation; the nat hooks see only the first.
/// Backends elsewhere are masqueraded in postrouting (`ct status dnat` to that backend), so
/// that their answers come back through this host to be translated back.
/// 127.0.0.0/8 backends for outside clients need route_localnet on the interfaces those come
/// from; `localnet-guard` (input) then drops whatever reaches 127.0.0.0/8 on them that was not
/// translated to one of those backends, so that route_localnet opens nothing else (CVE-2020-8558).
struct ServicePlanner {
    let config: Config
    let facts: PlanFacts

    static let inboundChain = "services-in"
    static let outboundChain = "services-out"
    static let guardChain = "localnet-guard"
    static let loopbackChain = "loopback-backends"
    /// Config.backendProbeMark → return: `run`'s checks of the backends pass untranslated.
    static let probeMarksMap = "backend-probes"

    static func serviceChain(_ name: String, _ family: IPFamily) -> String {
        "service-\(name)-\(NftPlanner.suffix(family))"
    }
    static func slotsMap(_ name: String, _ family: IPFamily) -> String {
        "backends-\(name)-\(NftPlanner.suffix(family))"
    }
    static func backendChain(_ backend: String) -> String { "backend-\(backend)" }

    struct Objects {
        var counters: [String] = []
        var maps: [NftVerdictMap] = []
        /// In dependency order, the hooked chains last.
        var chains: [NftChain] = []
        /// For the postrouting chain.
        var masquerade: [NftRule] = []
    }

    func objects() -> Objects {
        var objects = Objects()
        let services = config.services
        if services.isEmpty { return objects }
        for service in services {
            objects.counters += service.backends.indices.map(service.counterName)
            objects.chains += service.backends.indices.map { backendChain(service, $0) }
            for family in service.families {
                let (chain, map) = serviceChain(service, family)
                objects.chains.append(chain)
                objects.maps.append(map)
            }
            objects.masquerade += masqueradeRules(service)
        }
        if let (guardChain, loopbackChain) = localnetGuard() {
            objects.chains += [loopbackChain, guardChain]
        }
        for clients in [ServiceClients.outside, .local] {
            var rules = services.filter { $0.clients.contains(clients) }.flatMap { listenerRules($0, clients) }
            if rules.isEmpty { continue }
            if clients == .local {
                let mark = config.backendProbeMark
                objects.maps.append(
                    NftVerdictMap(
                        name: Self.probeMarksMap, typeof: .packetMark, elements: [.init(key: mark, verdict: .return)]))
                let probes = NftRuleEnd.lookup(.packetMark, mask: config.markMask, map: Self.probeMarksMap)
                rules.insert(NftRule([], [], probes), at: 0)
            }
            let hook = NftHook(
                type: .nat, point: clients == .outside ? .prerouting : .output, priority: NftHook.dstnatPriority)
            objects.chains.append(
                NftChain(name: clients == .outside ? Self.inboundChain : Self.outboundChain, hook: hook, rules: rules))
        }
        return objects
    }

    /// One rule per family, protocol and interface: the listener, then the service's chain.
    /// The host's own connections to 127.0.0.1 (::1) keep their way when the service has a
    /// backend elsewhere: their source, a loopback address, cannot leave the host.
    private func listenerRules(_ service: Service, _ clients: ServiceClients) -> [NftRule] {
        let interfaces: [String?] = clients == .outside && !service.interfaces.isEmpty ? service.interfaces : [nil]
        return service.families.flatMap { family in
            let destination: [NftMatch] =
                service.address.map { [.destination(IPPrefix(host: $0))] }
                ?? [.family(family), .destinationIsLocal]
            let remote = service.backends(family).contains { $0.backend.address.map { !$0.isLoopback } ?? false }
            let keepLoopback = clients == .local && service.address == nil && remote
            return service.protocols.flatMap { number -> [NftRule] in
                let ports: [NftMatch] = [.transportProtocol(number), .destinationPorts(service.ports)]
                let keep =
                    keepLoopback
                    ? [NftRule([.destination(.loopback(family))] + ports, [], .verdict(.return))] : []
                return keep
                    + interfaces.map { interface in
                        let from = interface.map { [NftMatch.inputInterface($0)] } ?? []
                        let chain = Self.serviceChain(service.name, family)
                        return NftRule(from + destination + ports, [], .verdict(.goto(chain)))
                    }
            }
        }
    }

    /// The balance mode's generator over the backends of `family` (SlotMap): a dead backend's
    /// slots go to the live ones.
    private func serviceChain(_ service: Service, _ family: IPFamily) -> (NftChain, NftVerdictMap) {
        let slots = SlotMap(
            name: Self.slotsMap(service.name, family), balance: service.balance, family: family,
            members: service.backends(family).map { index, backend in
                let name = service.backendName(index)
                return (backend.weight, Self.backendChain(name), !facts.downBackends.contains(name))
            })
        return (NftChain(name: Self.serviceChain(service.name, family), rules: [slots.rule]), slots.map)
    }

    /// `ip daddr . meta l4proto . th dport` of every listener with an address, → return: the
    /// uplink balancing's gates let these connections pass (their first packet still carries
    /// the listener's address, which need not be this host's).
    static func listenersMap(_ config: Config, _ family: IPFamily) -> NftVerdictMap? {
        let listeners = config.services.compactMap { service in
            service.address.flatMap { $0.family == family ? (service, IPPrefix(host: $0)) : nil }
        }
        if listeners.isEmpty { return nil }
        let elements = listeners.flatMap { service, host in
            service.protocols.map { number in
                NftVerdictMap.Element(
                    key: [.prefix(host), .transportProtocol(number), .ports(service.ports)],
                    verdict: .return)
            }
        }
        return NftVerdictMap(name: listenersMapName(family), typeof: listenerKey(family), elements: elements)
    }

    /// The gates' lookup in that map, when there is one.
    static func listenersLookup(_ config: Config, _ family: IPFamily) -> NftRule? {
        guard config.services.contains(where: { $0.address?.family == family }) else { return nil }
        return NftRule([], [], .lookup(listenerKey(family), map: listenersMapName(family)))
    }

    private static func listenersMapName(_ family: IPFamily) -> String {
        "service-listeners-\(NftPlanner.suffix(family))"
    }

    private static func listenerKey(_ family: IPFamily) -> NftMapKey {
        .fields([.destination(family), .transportProtocol, .destinationPort])
    }

    /// Counts the connection and translates its destination, per protocol (nft needs the
    /// protocol in the rule that sets a port). A range moved to other ports is one rule per port.
    private func backendChain(_ service: Service, _ index: Int) -> NftChain {
        let backend = service.backends[index]
        let name = service.backendName(index)
        let count = NftStatement.count(counter: service.counterName(index))
        func target(_ port: UInt16?) -> NatTarget {
            backend.address.map { .address($0, port: port) } ?? .thisHost(port: port)
        }
        let rules = service.protocols.flatMap { number -> [NftRule] in
            let protocolMatch = NftMatch.transportProtocol(number)
            let ports = service.ports
            guard ports.lower != ports.upper else {
                return [NftRule([protocolMatch], [count, .translateDestination(target(backend.port ?? ports.lower))])]
            }
            guard let first = backend.port, first != ports.lower else {
                return [NftRule([protocolMatch], [count, .translateDestination(target(nil))])]
            }
            return (ports.lower...ports.upper).map { port in
                let moved = first + (port - ports.lower)
                return NftRule(
                    [protocolMatch, .destinationPorts(PortRange(port))], [count, .translateDestination(target(moved))])
            }
        }
        return NftChain(name: Self.backendChain(name), rules: rules)
    }

    /// Source NAT for connections translated to a backend elsewhere.
    private func masqueradeRules(_ service: Service) -> [NftRule] {
        service.backends.filter(\.masquerade).flatMap { backend in
            translatedTo(service, backend).map { NftRule($0, [.masquerade]) }
        }.uniqued()
    }

    /// The matches of a connection translated to `backend`: one per protocol of the service.
    private func translatedTo(_ service: Service, _ backend: Backend) -> [[NftMatch]] {
        guard let address = backend.address else { return [] }
        let host = IPPrefix(host: address)
        return service.protocols.map {
            [
                .destinationTranslated, .destination(host), .transportProtocol($0),
                .destinationPorts(service.ports(of: backend))
            ]
        }
    }

    /// The interfaces that get route_localnet: those outside clients of a 127.0.0.0/8 backend come from.
    var localnetInterfaces: [String] {
        config.services.filter(\.needsRouteLocalnet).flatMap(\.interfaces).uniqued().sorted()
    }

    /// On those interfaces, a packet to 127.0.0.0/8 passes only as a connection translated to a
    /// loopback backend of ours; anything else is dropped.
    private func localnetGuard() -> (NftChain, NftChain)? {
        let interfaces = localnetInterfaces
        if interfaces.isEmpty { return nil }
        let allowed = config.services.filter(\.needsRouteLocalnet).flatMap { service in
            service.backends.filter { $0.address.map { $0.family == .ipv4 && $0.isLoopback } ?? false }
                .flatMap { translatedTo(service, $0).map { NftRule($0, [], .verdict(.return)) } }
        }.uniqued()
        // Later packets of a connection we translated, and the ICMP errors related to it (PMTU).
        let translated = NftRule([.destinationTranslated, .connectionNotNew], [], .verdict(.return))
        let rules = [translated] + allowed + [NftRule([], [], .verdict(.drop))]
        let check = NftChain(name: Self.loopbackChain, rules: rules)
        let hook = NftHook(type: .filter, point: .input, priority: NftHook.manglePriority)
        let guardRules = interfaces.map {
            NftRule([.inputInterface($0), .destination(.loopback(.ipv4))], [], .verdict(.goto(Self.loopbackChain)))
        }
        return (NftChain(name: Self.guardChain, hook: hook, rules: guardRules), check)
    }

    /// ip_forward where outside clients reach a backend elsewhere; route_localnet where they reach 127.0.0.0/8.
    func sysctls() -> [Sysctl] {
        var settings: [Sysctl] = []
        for service in config.services where service.clients.contains(.outside) {
            for backend in service.backends {
                guard let address = backend.address, !address.isLoopback else { continue }
                settings.append(address.family == .ipv4 ? .ipForwarding() : .ipv6Forwarding())
            }
        }
        settings += localnetInterfaces.filter { !facts.absent.contains($0) }.map(Sysctl.routeLocalnet)
        return settings
    }
}
