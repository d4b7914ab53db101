import CNetlink
import UplinkCore

/// RTA_MULTIPATH, the next hops of a weighted multipath route (`ip route ... nexthop via GW dev
/// DEV weight W nexthop ...`): one struct rtnexthop per hop, each followed by its own
/// attributes (RTA_GATEWAY). The same layout for IPv4 and IPv6.
enum RouteMultipath {
    /// Appends RTA_MULTIPATH for `nexthops`; `indexes` are their devices' interface indexes.
    static func put(_ nexthops: [Nexthop], indexes: [UInt32], into header: UnsafeMutablePointer<nlmsghdr>) {
        let nest = header.startNest(Int32(RTA_MULTIPATH.rawValue))
        for (nexthop, index) in zip(nexthops, indexes) {
            // Reserve the struct in place, then let the gateway attribute follow it.
            let start = UnsafeMutableRawPointer(mnl_nlmsg_get_payload_tail(header)!)
            header.pointee.nlmsg_len += UInt32(alignedSize)
            if let gateway = nexthop.gateway { header.put(Int32(RTA_GATEWAY.rawValue), bytes: gateway.bytes) }
            let end = UnsafeMutableRawPointer(mnl_nlmsg_get_payload_tail(header)!)
            // The kernel takes rtnh_hops + 1 as the weight.
            start.storeBytes(
                of: rtnexthop(
                    rtnh_len: UInt16(end - start), rtnh_flags: 0,
                    rtnh_hops: UInt8(clamping: nexthop.weight - 1), rtnh_ifindex: Int32(bitPattern: index)),
                as: rtnexthop.self)
        }
        header.endNest(nest)
    }

    /// The next hops in the order the kernel lists them (the order they were written in:
    /// kernel 6.18 keeps it for both families, and dumps an IPv6 multipath route as one message).
    /// Nil unless the whole payload is well-formed hops, at least one, each with no attribute
    /// but its gateway.
    static func parse(_ payload: [UInt8], device: (UInt32) -> String) -> [Nexthop]? {
        var nexthops: [Nexthop] = []
        var offset = 0
        while offset + MemoryLayout<rtnexthop>.size <= payload.count {
            let hop = payload.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: rtnexthop.self) }
            let length = Int(hop.rtnh_len)
            guard length >= alignedSize, offset + length <= payload.count else { return nil }
            let attributes = NetlinkAttributes(packed: payload[(offset + alignedSize)..<(offset + length)])
            guard attributes.types.isSubset(of: [UInt16(RTA_GATEWAY.rawValue)]) else { return nil }
            nexthops.append(
                Nexthop(
                    gateway: attributes.bytes(Int32(RTA_GATEWAY.rawValue)).flatMap(IPAddress.init(bytes:)),
                    device: device(UInt32(bitPattern: hop.rtnh_ifindex)),
                    weight: Int(hop.rtnh_hops) + 1))
            offset += (length + 3) & ~3
        }
        return nexthops.isEmpty || offset < payload.count ? nil : nexthops
    }

    /// RTNH_ALIGN(sizeof(struct rtnexthop)).
    private static let alignedSize = (MemoryLayout<rtnexthop>.size + 3) & ~3
}
