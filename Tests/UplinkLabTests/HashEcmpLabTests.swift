import Foundation
import TestSupport
import Testing

@testable import UplinkCore

/// `balance: hash` and `balance: ecmp` with real connections in the lab (Support/Lab.swift),
/// installed by `uplinkctl apply --netns` and by the nft dry-run script.
@Suite(
    "Hash and ECMP balancing in the lab", .serialized,
    .enabled(if: Namespaces.enabled, "needs root and network namespaces"))
struct HashEcmpLabTests {
    static let ways: [Installation] = [.apply, .nftScript, .iptablesScript]

    /// examples/hash.yaml's weights on the lab's uplinks.
    static let hash = """
        balance: hash
        traffic: [local, forwarded]
        uplinks:
          - {name: up1, interface: up1, gateway: 198.18.1.1, weight: 2}
          - {name: up2, interface: up2, gateway: 198.18.2.1}
          - {name: up3, interface: up3, gateway: 198.18.3.1}

        """

    /// Stickiness: 12 TCP and 12 UDP connections between the LAN client and the server (new
    /// source ports each time) all take one uplink. Spread: 150 source addresses of the LAN
    /// client (forwarded traffic), each pair asked twice (the second answer must repeat the
    /// first), land on exactly the uplink nft's jhash predicts (Support/Jhash.swift), and so
    /// by weight, 2:1:1. The tolerance on the shares, for the iptables form (HMARK, not jhash):
    /// each uplink within 4 standard deviations of a binomial count (75 ± 24, 37.5 ± 21).
    @Test("hash keeps each pair of addresses on one uplink and spreads pairs by weight", arguments: ways)
    func hashStickinessAndSpread(way: Installation) throws {
        try Lab.with { lab in
            let state = try lab.install(Self.hash, by: way)
            let order = smoothSlotOrder(weights: state.uplinks.map(\.slots)).map { $0 + 1 }
            #expect(order.count == 4)

            let sticky = try lab.connections(from: .lan, .tcp, count: 12) + lab.connections(from: .lan, .udp, count: 12)
            #expect(Set(sticky).count == 1 && sticky[0] != nil, "one pair of addresses took \(sticky)")

            let sources = try lab.addLanClientAddresses(150)
            let seen = try lab.echo(in: lab.lan, .udp, count: 2, to: Lab.serviceAddress, sources: sources).map(
                Lab.uplink(answer:))
            try #require(seen.count == 2 * sources.count)
            let first = stride(from: 0, to: seen.count, by: 2).map { seen[$0] }
            let second = stride(from: 1, to: seen.count, by: 2).map { seen[$0] }
            #expect(first == second, "a pair changed uplinks between its two connections")
            let predicted = sources.map { source -> Int? in
                order[
                    Int(
                        Jhash.slot(
                            source: source, destination: Lab.serviceAddress, modulus: UInt32(order.count),
                            seed: NftPlanner.hashSeed))]
            }
            // The iptables form is the closest one (HMARK), not nft's jhash: sticky and weighted only.
            if way != .iptablesScript {
                let misses = zip(sources, zip(first, predicted)).filter { $1.0 != $1.1 }
                #expect(misses.isEmpty, "\(misses.count) pairs not where jhash puts them, e.g. \(misses.prefix(3))")
            }
            for (uplink, share) in zip(1...3, [0.5, 0.25, 0.25]) {
                let count = Double(first.filter { $0 == uplink }.count)
                let n = Double(sources.count)
                let sigma = (n * share * (1 - share)).squareRoot()
                #expect(
                    abs(count - n * share) <= 4 * sigma, "up\(uplink): \(count) of \(n) pairs, expected \(n * share)")
            }
        }
    }

    /// `balance: ecmp`: one weighted multipath default route in its own table, and the
    /// kernel's per-flow hash (layer 4) uses every uplink across 60 TCP flows from the LAN
    /// client (a link left out by chance: 3 · (2/3)^60 ≈ 10⁻¹⁰), each masqueraded to the
    /// address of the uplink it took. The host's own connections get there too, but not per
    /// flow: rerouted after marking, they are hashed without their ports (the kernel's
    /// ip_route_me_harder passes none), so all connections from the host to one address take
    /// one next hop. The test holds them to arriving, each with its uplink's address.
    @Test("ecmp installs a multipath route and every uplink carries flows", arguments: ways)
    func ecmpUsesEveryUplink(way: Installation) throws {
        let yaml = try Paths.read(Paths.examples.appendingPathComponent("ecmp.yaml"))
        try Lab.with { lab in
            let state = try lab.install(yaml, by: way)
            let multipath = try #require(state.routes.first { $0.nexthops.count > 1 })
            let route = try must(["ip", "-n", lab.host, "route", "show", "table", String(multipath.table)])
            for n in 1...LabUplinks.count {
                #expect(
                    route.contains("nexthop via 198.18.\(n).1 dev up\(n) weight 1"),
                    "table \(multipath.table):\n\(route)")
            }
            #expect(
                try must(["ip", "netns", "exec", lab.host, "sysctl", "-n", "net.ipv4.fib_multipath_hash_policy"])
                    == "1\n")
            try lab.watchGateways()
            for client in [Lab.Client.lan, .host] {
                let before = try lab.gatewayCounts()
                let seen = try lab.connections(from: client, .tcp, count: 60)
                #expect(!seen.contains(nil), "\(client): flows lost or leaving with another uplink's address: \(seen)")
                let grown = try lab.gatewayCounts() - before
                #expect(grown.map(\.flows).reduce(0, +) == 60, "\(client): flows per gateway \(grown)")
                #expect(
                    (1...3).map { n in seen.filter { $0 == n }.count } == grown.map(\.flows),
                    "the answers and the gateways disagree")
                if client == .lan {
                    #expect(grown.map(\.flows).allSatisfy { $0 > 0 }, "forwarded flows per gateway \(grown)")
                }
            }
            if way == .apply {
                // status counts the connections handed to the multipath route, and none balanced by uplinkctl.
                let status = try UplinkctlCLI.withConfig(yaml) {
                    try UplinkctlCLI.run(["status", "--json", "--netns", lab.host, $0])
                }
                let summary = try JSONDecoder().decode(StatusReport.Summary.self, from: Data(status.stdout.utf8))
                #expect(
                    summary.ecmpConnections == 120 && summary.uplinks.allSatisfy { $0.connections == 0 },
                    "\(status.stdout)")
                #expect(summary.inSync && summary.balance == "ecmp")
            }
        }
    }
}
