import CNetlink
import Glibc

/// rtnetlink's multicast groups for links (carrier, operstate, interfaces added and removed),
/// addresses and routes of both families: a descriptor that becomes readable when anything the
/// plan depends on may have changed. The messages are not parsed: `run` reads the kernel afresh.
final class LinkEvents {
    let descriptor: Int32

    init() throws {
        descriptor = socket(AF_NETLINK, Int32(SOCK_RAW.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), NETLINK_ROUTE)
        guard descriptor >= 0 else { throw KernelRefusal(object: "rtnetlink event socket", errno: errno, detail: nil) }
        var address = sockaddr_nl()
        address.nl_family = sa_family_t(AF_NETLINK)
        address.nl_groups = UInt32(RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR | RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_nl>.size)) }
        }
        guard bound == 0 else {
            let error = errno
            close(descriptor)
            throw KernelRefusal(object: "rtnetlink event socket", errno: error, detail: nil)
        }
    }

    deinit { close(descriptor) }

    /// Reads everything queued; true when anything was (an overflow, ENOBUFS, counts too:
    /// events were lost, so everything may have changed).
    func drain() -> Bool {
        var buffer = [UInt8](repeating: 0, count: 65536)
        var any = false
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if count > 0 { any = true; continue }
            if count < 0 && errno == ENOBUFS { any = true; continue }
            return any
        }
    }
}
