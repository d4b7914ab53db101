import CNetlink
import UplinkCore

/// Interfaces and their addresses (IPv4 and IPv6) over rtnetlink (RTM_GETLINK, RTM_GETADDR), so that names
/// are resolved where the socket lives, not where the calling thread happens to be.
struct LinkNetlink {
    let socket: any NetlinkTransport

    func links() throws -> [String: InterfaceState] {
        let messages = try socket.request(
            object: "ip link list", type: UInt16(RTM_GETLINK), flags: Int32(NLM_F_REQUEST | NLM_F_DUMP)
        ) { header in
            header.putExtraHeader(ifinfomsg())
        }
        var result: [String: InterfaceState] = [:]
        for message in messages where message.type == UInt16(RTM_NEWLINK) {
            message.withHeader { header in
                let info = UnsafeRawPointer(header).advanced(by: MemoryLayout<nlmsghdr>.size).loadUnaligned(
                    as: ifinfomsg.self)
                let attributes = NetlinkAttributes(header, headerSize: MemoryLayout<ifinfomsg>.size)
                guard let name = attributes.string(Int32(IFLA_IFNAME)) else { return }
                var state = InterfaceState(
                    name: name, index: UInt32(bitPattern: info.ifi_index),
                    isUp: info.ifi_flags & UInt32(IFF_UP) != 0,
                    hasCarrier: info.ifi_flags & 0x10000 /* IFF_LOWER_UP */ != 0)
                // struct rtnl_link_stats64 starts rx_packets, tx_packets, rx_bytes, tx_bytes.
                if let stats = attributes.bytes(Int32(IFLA_STATS64)), stats.count >= 32 {
                    let words = stats.withUnsafeBytes { raw in
                        (0..<4).map { raw.loadUnaligned(fromByteOffset: $0 * 8, as: UInt64.self) }
                    }
                    state.received = .init(packets: words[0], bytes: words[2])
                    state.sent = .init(packets: words[1], bytes: words[3])
                }
                result[name] = state
            }
        }
        // AF_UNSPEC: the addresses of both families in one dump.
        let addresses = try socket.request(
            object: "ip address list", type: UInt16(RTM_GETADDR), flags: Int32(NLM_F_REQUEST | NLM_F_DUMP)
        ) { header in
            header.putExtraHeader(
                ifaddrmsg(ifa_family: UInt8(AF_UNSPEC), ifa_prefixlen: 0, ifa_flags: 0, ifa_scope: 0, ifa_index: 0))
        }
        for message in addresses where message.type == UInt16(RTM_NEWADDR) {
            message.withHeader { header in
                let info = UnsafeRawPointer(header).advanced(by: MemoryLayout<nlmsghdr>.size).loadUnaligned(
                    as: ifaddrmsg.self)
                let attributes = NetlinkAttributes(header, headerSize: MemoryLayout<ifaddrmsg>.size)
                guard let key = result.first(where: { $0.value.index == info.ifa_index })?.key,
                    let assigned = InterfaceAddressMessage(attributes, prefixLength: Int(info.ifa_prefixlen))
                else { return }
                result[key]!.add(assigned)
            }
        }
        return result
    }
}

/// One RTM_NEWADDR, in both families' conventions: IFA_LOCAL is our own address when present
/// (always for IPv4); IFA_ADDRESS is then the peer of a point-to-point link, and otherwise
/// (IPv6 without a peer) our own address.
private struct InterfaceAddressMessage {
    let local: IPAddress
    let prefixLength: Int
    let peer: IPAddress?

    init?(_ attributes: NetlinkAttributes, prefixLength: Int) {
        let address = attributes.bytes(Int32(IFA_ADDRESS)).flatMap(IPAddress.init(bytes:))
        guard let local = attributes.bytes(Int32(IFA_LOCAL)).flatMap(IPAddress.init(bytes:)) ?? address else {
            return nil
        }
        // IPv6 link-local addresses never leave the link: not a source to route by, and a
        // link-local gateway needs no address of ours on its network (Preflight knows).
        if local.family == .ipv6 && local.isLinkLocal { return nil }
        // An address that failed duplicate detection is not usable (IFA_F_DADFAILED).
        if let flags = attributes.u32(Int32(IFA_FLAGS)), flags & UInt32(IFA_F_DADFAILED) != 0 { return nil }
        self.local = local
        self.prefixLength = prefixLength
        self.peer = address == local ? nil : address
    }
}

private extension InterfaceState {
    mutating func add(_ assigned: InterfaceAddressMessage) {
        if !localAddresses.contains(assigned.local) { localAddresses.append(assigned.local) }
        // The networks reached directly: ours, or the peer's on a point-to-point link.
        for address in [assigned.peer ?? assigned.local, assigned.local] {
            if let network = IPPrefix(address: address, length: assigned.prefixLength), !addresses.contains(network) {
                addresses.append(network)
            }
        }
    }
}
