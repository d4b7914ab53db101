import CNetlink
import Glibc

/// Descriptors that become readable when anything the plan depends on, or anything uplinkctl
/// installed, may have changed: rtnetlink's groups for links (carrier, operstate, interfaces
/// added and removed), addresses, routes and rules of both families, and nf_tables' group (a
/// firewall reload that flushes the ruleset). The messages are not parsed: `run` reads the
/// kernel afresh. Its own changes wake it too; that reading finds the kernel in sync.
final class KernelEvents {
    let descriptors: [Int32]

    init() throws {
        let routeGroups = RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR | RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE
            | RTMGRP_IPV4_RULE
        let route = try Self.open(NETLINK_ROUTE, groups: UInt32(routeGroups), joining: [RTNLGRP_IPV6_RULE.rawValue],
                                  name: "rtnetlink event socket")
        do {
            let netfilter = try Self.open(NETLINK_NETFILTER, groups: 0, joining: [UInt32(NFNLGRP_NFTABLES.rawValue)],
                                          name: "nf_tables event socket")
            descriptors = [route, netfilter]
        } catch {
            close(route)
            throw error
        }
    }

    deinit { descriptors.forEach { close($0) } }

    private static func open(_ protocol: Int32, groups: UInt32, joining: [UInt32], name: String) throws -> Int32 {
        let flags = Int32(SOCK_RAW.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        let descriptor = socket(AF_NETLINK, flags, `protocol`)
        guard descriptor >= 0 else { throw KernelRefusal(object: name, errno: errno, detail: nil) }
        var address = sockaddr_nl()
        address.nl_family = sa_family_t(AF_NETLINK)
        address.nl_groups = groups
        var failed = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_nl>.size)) }
        } != 0
        for group in joining where !failed {
            var number = group
            failed = setsockopt(descriptor, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &number, socklen_t(MemoryLayout<UInt32>.size)) != 0
        }
        guard !failed else {
            let error = errno
            close(descriptor)
            throw KernelRefusal(object: name, errno: error, detail: nil)
        }
        return descriptor
    }

    /// Reads everything queued on `descriptor`; true when anything was (an overflow, ENOBUFS,
    /// counts too: events were lost, so everything may have changed).
    func drain(_ descriptor: Int32) -> Bool {
        var buffer = [UInt8](repeating: 0, count: 65536)
        var any = false
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if count > 0 || (count < 0 && errno == ENOBUFS) {
                any = true
                continue
            }
            return any
        }
    }
}
