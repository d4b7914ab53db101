/// A netlink socket whose changes (a request that changes the kernel, an nft batch) pass
/// FaultInjection first; reads go straight through.
final class FaultInjectingTransport: NetlinkTransport {
    private let inner: any NetlinkTransport
    private let faults: FaultInjection

    init(inner: any NetlinkTransport, faults: FaultInjection) {
        self.inner = inner
        self.faults = faults
    }

    func sequence() -> UInt32 { inner.sequence() }

    func exchange(_ request: NetlinkRequest, each: ((NetlinkMessage) -> Void)?) throws -> [NetlinkMessage] {
        if request.changes { try faults.change(request.object) }
        return try inner.exchange(request, each: each)
    }

    func batch(_ bytes: [UInt8], count: Int) throws -> [NetlinkAnswer] {
        try faults.change("nftables transaction")
        return try inner.batch(bytes, count: count)
    }
}
