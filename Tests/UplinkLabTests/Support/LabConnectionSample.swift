import Foundation
import TestSupport

@testable import UplinkCore

/// Real connections through a lab-shaped config, the same sequence under each installation,
/// and what of their answers can honestly be compared.
///
/// Every connection must be answered by the server through an uplink the config allows for it
/// (the generator keeps every path open). Beyond that:
/// - a connection a policy pins or bypasses, or one the config does not balance at all, takes
///   the same way under all three;
/// - balanced connections under `nth` follow the same cycle under all three;
/// - under `hash`, apply and the nft script pick the same uplink (both jhash); the iptables
///   form's HMARK is another hash, so it is only held to stickiness: one pair of addresses,
///   one uplink (as DryRunEquivalenceTests does);
/// - under `random` and `ecmp` a balanced connection's uplink is chance (numgen random; the
///   kernel's multipath hash over the random source port): only the uplinks it may take are
///   checked, under each installation on its own.
struct LabConnectionSample {
    struct Batch {
        let client: Lab.Client
        let transport: Lab.Transport
        let count: Int
        let address: String
        let port: Int

        init(_ client: Lab.Client, _ transport: Lab.Transport, _ count: Int, to address: String, port: Int) {
            self.client = client
            self.transport = transport
            self.count = count
            self.address = address
            self.port = port
        }

        var family: IPFamily { address.contains(":") ? .ipv6 : .ipv4 }
        /// `host tcp 198.19.0.1:7`, `lan udp [2001:2:0:ff::1]:7`.
        var name: String {
            "\(client) \(transport) " + (family == .ipv6 ? "[\(address)]:\(port)" : "\(address):\(port)")
        }
    }

    let config: Config
    let ipv6: Bool

    /// To both of the server's addresses, on the ports it answers (7, 22, 53), and from the host
    /// to the LAN; from the LAN only where forwarded connections are balanced (otherwise nothing
    /// turns forwarding on); IPv6 where the lab has it.
    var batches: [Batch] {
        let (server, other, server6) = (Lab.serviceAddress, Lab.otherServiceAddress, Lab.serviceAddress6)
        var batches = [
            Batch(.host, .tcp, 3, to: server, port: 7), Batch(.host, .udp, 3, to: server, port: 53),
            Batch(.host, .tcp, 2, to: other, port: 22), Batch(.host, .udp, 2, to: other, port: 7),
            Batch(.host, .udp, 1, to: Lab.lanClientAddress, port: 7)
        ]
        let forwarded = config.traffic.contains(.forwarded)
        if forwarded {
            batches += [
                Batch(.lan, .udp, 3, to: server, port: 7), Batch(.lan, .tcp, 2, to: server, port: 53),
                Batch(.lan, .tcp, 2, to: other, port: 22)
            ]
        }
        if ipv6 {
            batches += [Batch(.host, .tcp, 2, to: server6, port: 7), Batch(.host, .udp, 2, to: server6, port: 53)]
            if forwarded { batches.append(Batch(.lan, .udp, 2, to: server6, port: 7)) }
        }
        return batches
    }

    /// Sends every batch, in order, from the lab's host and LAN client: the answers by batch name.
    func send(_ lab: Lab) throws -> [String: [String]] {
        var seen: [String: [String]] = [:]
        for batch in batches {
            seen[batch.name] = try lab.echo(
                in: lab.namespace(batch.client), batch.transport, count: batch.count,
                to: batch.address, port: batch.port)
        }
        return seen
    }

    /// What is wrong with the answers `seen` (by installation) under the rules above.
    func problems(_ seen: [Installation: [String: [String]]]) -> [String] {
        var problems: [String] = []
        for batch in batches {
            let answers = Installation.allCases.map { seen[$0]?[batch.name] ?? [] }
            for (way, got) in zip(Installation.allCases, answers) {
                let wrong = got.filter { !allowed(batch, $0) }
                if got.count != batch.count || !wrong.isEmpty {
                    problems.append(
                        "\(batch.name): under \(way.testDescription) the answers \(got) "
                            + "are not all from an uplink it may take")
                }
            }
            let (apply, nft, iptables) = (answers[0], answers[1], answers[2])
            switch comparison(batch) {
            case .exact where apply != nft || apply != iptables:
                problems.append("\(batch.name): apply \(apply), nft script \(nft), iptables script \(iptables)")
            case .hash where apply != nft || Set(iptables).count > 1:
                problems.append(
                    "\(batch.name) (hash): apply \(apply), nft script \(nft), iptables script \(iptables) "
                        + "(apply and nft must agree, iptables keep the pair on one uplink)")
            default:
                break
            }
        }
        return problems
    }

    enum Comparison { case exact, hash, chance }

    func comparison(_ batch: Batch) -> Comparison {
        if batch.address == Lab.lanClientAddress || !balanced(batch) || config.balance == .nth { return .exact }
        return config.balance == .hash ? .hash : .chance
    }

    /// Whether uplinkctl balances the batch's connections (the first policy that matches them
    /// neither pins nor bypasses them, and their kind of traffic is balanced at all).
    func balanced(_ batch: Batch) -> Bool {
        guard config.traffic.contains(batch.client == .host ? .local : .forwarded) else { return false }
        guard let policy = config.policies.first(where: { matches($0.match, batch) }) else { return true }
        if case .balance(let shares) = policy.action {
            return shares.contains { config.uplink(named: $0.uplink)?.carries(batch.family) == true }
        }
        return false
    }

    /// A policy match against one of the batch's connections. Their source ports are ephemeral
    /// (32768 on), which the generator keeps out of the lab's source-port entries.
    func matches(_ match: PolicyMatch, _ batch: Batch) -> Bool {
        let source = IPAddress(source(batch))!
        let destination = IPAddress(batch.address)!
        let proto = batch.transport == .tcp ? IPProtocolNumber.tcp : IPProtocolNumber.udp
        let port = PortRange(UInt16(batch.port))
        return (match.destinations.isEmpty || match.destinations.contains { $0.contains(destination) })
            && (match.sources.isEmpty || match.sources.contains { $0.contains(source) })
            && (match.protocols.isEmpty || match.protocols.contains(proto))
            && (match.destinationPorts.isEmpty || match.destinationPorts.contains { $0.contains(port) })
            && match.sourcePorts.isEmpty
            && (match.inputInterfaces.isEmpty || (batch.client == .lan && match.inputInterfaces.contains("lan0")))
    }

    /// The source address a connection has when uplinkctl sees it: the LAN client's, or the
    /// host's on up1 (its main route's).
    private func source(_ batch: Batch) -> String {
        switch (batch.client, batch.family) {
        case (.lan, .ipv4): Lab.lanClientAddress
        case (.lan, .ipv6): Lab.lanClientAddress6
        case (.host, .ipv4): LabUplinks.address(1)
        case (.host, .ipv6): LabUplinks.address(1, ipv6: true)
        }
    }

    /// An answer from the server through an uplink of the config that carries the family, or
    /// through up1 (the main route); the LAN client's for connections to the LAN.
    private func allowed(_ batch: Batch, _ answer: String) -> Bool {
        if batch.address == Lab.lanClientAddress { return answer == "\(Lab.hostLanAddress) eth0" }
        let uplink = batch.family == .ipv4 ? Lab.uplink(answer: answer) : Lab.uplink(device: answer)
        guard let uplink else { return false }
        return uplink == 1 || config.uplinks.contains { $0.interface == "up\(uplink)" && $0.carries(batch.family) }
    }
}
