import Foundation
import TestSupport

extension HostWiring {
    /// Builds the host's side in `host`; the peers go into `peers`, named TAG1, TAG2, … (several
    /// hosts may share one peers namespace, each with its own tag). `dev NAME` and `name NAME`
    /// throughout: an interface may be named like an abbreviated keyword of `ip`, such as `n`.
    func build(in host: String, peers: String, tag: String) throws {
        try must([
            "ip", "netns", "exec", host, "sysctl", "-qw", "net.ipv6.conf.all.accept_dad=0",
            "net.ipv6.conf.default.accept_dad=0"
        ])
        let all =
            interfaces.map { ($0.name, $0.mac) }
            + bare.enumerated().map { ($1, String(format: "02:00:00:01:%02x:01", $0)) }
        let peerNames = all.indices.map { "\(tag)\($0 + 1)" }
        try batch(
            nil,
            zip(all, peerNames).map { link, peer in
                "link add name \(link.0) netns \(host) address \(link.1) type veth peer name \(peer) netns \(peers)"
            })
        var commands: [String] = []
        for interface in interfaces {
            commands += interface.addresses.map { address in
                "addr add \(address) dev \(interface.name)" + (address.contains(":") ? " nodad" : "")
            }
            commands.append("link set dev \(interface.name) up")
        }
        commands += bare.map { "link set dev \($0) up" }
        commands += routes.map { "route add \($0)" }
        try batch(host, commands)
        try batch(peers, peerNames.map { "link set dev \($0) up" })
    }

    private func batch(_ namespace: String?, _ commands: [String]) throws {
        guard !commands.isEmpty else { return }
        let input = commands.joined(separator: "\n") + "\n"
        try must(["ip"] + (namespace.map { ["-n", $0] } ?? []) + ["-batch", "-"], input: input)
    }
}
