import CNetlink
import Testing

@testable import UplinkKernel

/// A socket of one netlink family of the fake kernel.
final class FakeTransport: NetlinkTransport {
    let kernel: FakeKernel
    let family: Int32

    init(kernel: FakeKernel, family: Int32) {
        self.kernel = kernel
        self.family = family
    }

    func sequence() -> UInt32 { kernel.sequence() }

    func exchange(_ request: NetlinkRequest, each: ((NetlinkMessage) -> Void)?) throws -> [NetlinkMessage] {
        let replies = try kernel.exchange(request, family: family)
        guard let each else { return replies }
        replies.forEach(each)
        return []
    }

    func batch(_ bytes: [UInt8], count: Int) throws -> [NetlinkAnswer] {
        if family != NETLINK_NETFILTER { Issue.record("a batch over netlink family \(family)") }
        return kernel.batch(bytes)
    }
}
