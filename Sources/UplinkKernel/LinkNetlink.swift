import CNetlink
import UplinkCore

/// Interfaces and their IPv4 addresses over rtnetlink (RTM_GETLINK, RTM_GETADDR), so that names
/// are resolved where the socket lives, not where the calling thread happens to be.
struct LinkNetlink {
    let socket: NetlinkSocket

    func links() throws -> [String: InterfaceState] {
        let messages = try socket.request(object: "ip link list", type: UInt16(RTM_GETLINK), flags: Int32(NLM_F_REQUEST | NLM_F_DUMP)) { header in
            header.putExtraHeader(ifinfomsg())
        }
        var result: [String: InterfaceState] = [:]
        for message in messages where message.type == UInt16(RTM_NEWLINK) {
            message.withHeader { header in
                let info = UnsafeRawPointer(header).advanced(by: MemoryLayout<nlmsghdr>.size).loadUnaligned(as: ifinfomsg.self)
                let attributes = NetlinkAttributes(header, headerSize: MemoryLayout<ifinfomsg>.size)
                guard let name = attributes.string(Int32(IFLA_IFNAME)) else { return }
                var state = InterfaceState(name: name, index: UInt32(bitPattern: info.ifi_index),
                                           isUp: info.ifi_flags & UInt32(IFF_UP) != 0,
                                           hasCarrier: info.ifi_flags & 0x10000 /* IFF_LOWER_UP */ != 0)
                // struct rtnl_link_stats64 starts rx_packets, tx_packets, rx_bytes, tx_bytes.
                if let stats = attributes.bytes(Int32(IFLA_STATS64)), stats.count >= 32 {
                    let words = stats.withUnsafeBytes { raw in (0..<4).map { raw.loadUnaligned(fromByteOffset: $0 * 8, as: UInt64.self) } }
                    state.received = .init(packets: words[0], bytes: words[2])
                    state.sent = .init(packets: words[1], bytes: words[3])
                }
                result[name] = state
            }
        }
        let addresses = try socket.request(object: "ip address list", type: UInt16(RTM_GETADDR), flags: Int32(NLM_F_REQUEST | NLM_F_DUMP)) { header in
            header.putExtraHeader(ifaddrmsg(ifa_family: UInt8(AF_INET), ifa_prefixlen: 0, ifa_flags: 0, ifa_scope: 0, ifa_index: 0))
        }
        for message in addresses where message.type == UInt16(RTM_NEWADDR) {
            message.withHeader { header in
                let info = UnsafeRawPointer(header).advanced(by: MemoryLayout<nlmsghdr>.size).loadUnaligned(as: ifaddrmsg.self)
                let attributes = NetlinkAttributes(header, headerSize: MemoryLayout<ifaddrmsg>.size)
                guard let key = result.first(where: { $0.value.index == info.ifa_index })?.key else { return }
                // IFA_ADDRESS is the peer on a point-to-point link, IFA_LOCAL our own address.
                for type in [IFA_ADDRESS, IFA_LOCAL] {
                    if let address = attributes.bytes(Int32(type)).flatMap(IPAddress.init(bytes:)),
                       let prefix = IPPrefix(address: address, length: Int(info.ifa_prefixlen)) {
                        if !result[key]!.addresses.contains(prefix) { result[key]!.addresses.append(prefix) }
                    }
                }
            }
        }
        return result
    }
}
