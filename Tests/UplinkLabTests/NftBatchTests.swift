import CNetlink
import Foundation
import TestSupport
import Testing

@testable import UplinkCore
@testable import UplinkKernel

/// The nft transaction itself, in a throwaway namespace.
@Suite(.enabled(if: Namespaces.enabled, "needs root and network namespaces"))
struct NftBatchTests {
    /// A batch computed from a read that another program's commit has overtaken is refused
    /// whole, and says why.
    @Test func aStaleGenerationIsRefused() throws {
        try Namespaces.with(["host"]) { names in
            let socket = try NetworkNamespace.run(names[0]) { try NetlinkSocket(12 /* NETLINK_NETFILTER */) }
            let reader = NftTableReader(socket: socket, table: Ownership.nftTableName)
            let generation = try #require(try reader.generation())
            try must(["ip", "netns", "exec", names[0], "nft", "add", "table", "ip", "foreign"])
            let batch = NftBatch(socket: socket, table: Ownership.nftTableName)
            let error = #expect(throws: KernelRefusal.self) { try batch.apply([.addTable], generation: generation) }
            #expect(
                error?.description.contains("another program changed the nftables ruleset") == true,
                "\(String(describing: error))")
            #expect(try reader.read() == nil)
            // With the current generation the same batch goes through.
            try batch.apply([.addTable], generation: try reader.generation())
            #expect(try reader.read() != nil)
        }
    }

    /// The kernel takes our messages and nft lists them as the fixture's text; what nft itself
    /// loads reads back as the model's rules (Fixtures/nft-debug/mptcp.nft).
    @Test func mptcpRulesTravelBothWays() throws {
        let fixture = try Paths.read(Paths.fixtures.appendingPathComponent("nft-debug/mptcp.nft"))
        try Namespaces.with(["host"]) { names in
            let socket = try NetworkNamespace.run(names[0]) { try NetlinkSocket(12 /* NETLINK_NETFILTER */) }
            let reader = NftTableReader(socket: socket, table: Ownership.nftTableName)
            let batch = NftBatch(socket: socket, table: Ownership.nftTableName)
            try batch.apply(NftDiff.creation(of: MptcpTable.nftables), generation: try reader.generation())
            let nft = ["ip", "netns", "exec", names[0], "nft"]
            let listed = try must(nft + ["list", "table", "inet", Ownership.nftTableName])
            #expect(listed == fixture)
            _ = try must(nft + ["delete", "table", "inet", Ownership.nftTableName])
            _ = try must(nft + ["-f", "-"], input: fixture)
            let chain = try #require(try reader.read()?.chains.first)
            #expect(chain.rules.map(\.rule) == MptcpTable.nftables.chains[0].rules)
        }
    }
}
