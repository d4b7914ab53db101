@testable import UplinkCore

/// Fixtures/nft-debug/mptcp.nft: the MPTCP subtype match, MP_CAPABLE and MP_JOIN, in a table of
/// its own (the encoding tests check its bytes, the lab its trip through the kernel).
public enum MptcpTable {
    public static let nftables = NftTable(chains: [
        NftChain(
            name: "mptcp", hook: NftHook(type: .route, point: .output, priority: NftHook.manglePriority),
            rules: [
                NftRule([.mptcpSubtype(0)], [], .verdict(.return)),
                NftRule([.mptcpSubtype(1)], [], .verdict(.return))
            ])
    ])
}
