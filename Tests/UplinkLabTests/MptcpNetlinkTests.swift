import CNetlink
import Foundation
import Testing
import UplinkCore

@testable import UplinkKernel

/// The MPTCP path manager over generic netlink, in a throwaway namespace; `ip mptcp` is the
/// independent witness.
@Suite(.enabled(if: Namespaces.enabled, "needs root and network namespaces"))
struct MptcpNetlinkTests {
    @Test func endpointsAndLimitsRoundTrip() throws {
        try Namespaces.with(["host"]) { names in
            let host = names[0]
            // `name`: a bare `a` after `link add` would be read as `address`.
            try must(["ip", "-n", host, "link", "add", "name", "mp0", "type", "veth", "peer", "name", "mp1"])
            try must(["ip", "-n", host, "addr", "add", "198.18.7.2/24", "dev", "mp0"])
            try must(["ip", "-n", host, "addr", "add", "2001:2::7:2/64", "dev", "mp0", "nodad"])
            try must(["ip", "-n", host, "link", "set", "mp0", "up"])
            let (mptcp, links) = try NetworkNamespace.run(host) {
                (
                    try MptcpNetlink(socket: NetlinkSocket(NETLINK_GENERIC)),
                    try LinkNetlink(socket: NetlinkSocket(NETLINK_ROUTE)).links()
                )
            }
            let index = try #require(links["mp0"]?.index)
            let interfaces = [index: "mp0"]

            let both = MptcpEndpoint(address: IPAddress("198.18.7.2")!, interface: "mp0", signal: true)
            let announced = MptcpEndpoint(
                address: IPAddress("198.18.8.2")!, interface: "", subflow: false,
                signal: true)
            let v6 = MptcpEndpoint(address: IPAddress("2001:2::7:2")!, interface: "mp0")
            let foreign = MptcpEndpoint(address: IPAddress("198.18.9.2")!, interface: "mp0")
            try mptcp.add(both, interfaceIndex: index)
            try mptcp.add(announced, interfaceIndex: 0)
            try mptcp.add(v6, interfaceIndex: index)
            // Another program's endpoint, with flags uplinkctl never writes.
            let flags = ["subflow", "backup", "fullmesh"]
            try must(["ip", "-n", host, "mptcp", "endpoint", "add", "198.18.9.2", "dev", "mp0"] + flags)
            let limits = MptcpLimits(subflows: 3, addAddrAccepted: 2)
            try mptcp.setLimits(limits)

            let live = try mptcp.read(interfaces: interfaces)
            #expect(live.endpoints.map(\.endpoint) == [both, announced, v6, foreign])
            #expect(live.endpoints.map(\.otherFlags) == [0, 0, 0, 4 | 8])
            #expect(Set(live.endpoints.map(\.id)).count == 4)
            #expect(live.limits == limits)
            // The witness agrees, line for line, ids included.
            #expect(try witness(host) == live.endpoints.map(Self.ipLine))
            #expect(try must(["ip", "-n", host, "mptcp", "limits", "show"]).contains("add_addr_accepted 2 subflows 3"))
            // An unknown interface index reads as no interface.
            #expect(try mptcp.read(interfaces: [:]).endpoints.allSatisfy { $0.endpoint.interface == "" })

            let gone = try #require(live.endpoints.first { $0.endpoint == announced })
            try mptcp.delete(id: gone.id, endpoint: announced)
            let after = try mptcp.read(interfaces: interfaces)
            #expect(after.endpoints == live.endpoints.filter { $0.id != gone.id })
            #expect(try witness(host) == after.endpoints.map(Self.ipLine))
            #expect(try !must(["ip", "-n", host, "mptcp", "endpoint", "show"]).contains("198.18.8.2"))
        }
    }

    /// Refusals name the request as `ip mptcp` would spell it.
    @Test func refusalsNameTheObject() throws {
        try Namespaces.with(["host"]) { names in
            let mptcp = try NetworkNamespace.run(names[0]) {
                try MptcpNetlink(socket: NetlinkSocket(NETLINK_GENERIC))
            }
            let endpoint = MptcpEndpoint(address: IPAddress("198.18.7.2")!, interface: "lo", signal: true)
            try mptcp.add(endpoint, interfaceIndex: 1)
            let duplicate = #expect(throws: KernelRefusal.self) { try mptcp.add(endpoint, interfaceIndex: 1) }
            let duplicateText = duplicate?.description ?? ""
            let addition = "ip mptcp endpoint add 198.18.7.2 dev lo signal subflow: "
            #expect(duplicateText.hasPrefix(addition), "\(duplicateText)")
            let unknown = #expect(throws: KernelRefusal.self) { try mptcp.delete(id: 99, endpoint: endpoint) }
            let unknownText = unknown?.description ?? ""
            #expect(unknownText.hasPrefix("ip mptcp endpoint delete id 99: "), "\(unknownText)")
            let limits = MptcpLimits(subflows: 300, addAddrAccepted: 0)
            let tooMany = #expect(throws: KernelRefusal.self) { try mptcp.setLimits(limits) }
            let tooManyText = tooMany?.description ?? ""
            #expect(tooManyText.hasPrefix("ip mptcp limits set subflows 300 add_addr_accepted 0: "), "\(tooManyText)")
            // The refused requests changed nothing.
            #expect(try mptcp.read(interfaces: [1: "lo"]).endpoints.map(\.endpoint) == [endpoint])
        }
    }

    private func witness(_ namespace: String) throws -> [String] {
        let text = try must(["ip", "-n", namespace, "mptcp", "endpoint", "show"])
        return text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
    }

    /// An endpoint as `ip mptcp endpoint show` prints it (iproute2's print_addr, in its order).
    static func ipLine(_ live: LiveMptcp.Endpoint) -> String {
        var words = ["\(live.endpoint.address)", "id", "\(live.id)"] + live.endpoint.flagWords
        if live.otherFlags & 4 != 0 { words.append("backup") }
        if live.otherFlags & 8 != 0 { words.append("fullmesh") }
        if !live.endpoint.interface.isEmpty { words += ["dev", live.endpoint.interface] }
        return words.joined(separator: " ")
    }
}
