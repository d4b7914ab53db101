import CNetlink
import Glibc

/// Sockets that become readable when anything the plan depends on, or anything uplinkctl
/// installed, may have changed: rtnetlink's groups for links (carrier, operstate, interfaces
/// added and removed), addresses, routes and rules of both families, and nf_tables' group (a
/// firewall reload that flushes the ruleset). The messages are not parsed: `run` reads the
/// kernel afresh. Its own changes wake it too; that reading finds the kernel in sync.
final class KernelEvents {
    private let sockets: [NetlinkSocket]

    init() throws {
        let routeGroups = [
            RTNLGRP_LINK, RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR, RTNLGRP_IPV4_ROUTE, RTNLGRP_IPV6_ROUTE,
            RTNLGRP_IPV4_RULE, RTNLGRP_IPV6_RULE
        ].map(\.rawValue)
        sockets = [
            try NetlinkSocket(NETLINK_ROUTE, joining: routeGroups),
            try NetlinkSocket(NETLINK_NETFILTER, joining: [UInt32(NFNLGRP_NFTABLES.rawValue)])
        ]
    }

    var descriptors: [Int32] { sockets.map(\.descriptor) }

    /// Reads everything queued on `descriptor`; true when anything was (an overflow, ENOBUFS,
    /// counts too: events were lost, so everything may have changed).
    func drain(_ descriptor: Int32) -> Bool {
        var buffer = [UInt8](repeating: 0, count: 65536)
        var any = false
        while true {
            let count = buffer.withUnsafeMutableBytes {
                recv(descriptor, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT))
            }
            if count > 0 || (count < 0 && errno == ENOBUFS) {
                any = true
                continue
            }
            return any
        }
    }
}
