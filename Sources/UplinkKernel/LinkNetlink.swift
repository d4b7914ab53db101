import CNetlink
import UplinkCore

/// Interface names and indexes of the socket's namespace (RTM_GETLINK), so that names are
/// resolved where the socket lives, not where the calling thread happens to be.
struct LinkNetlink {
    let socket: NetlinkSocket

    func indexes() throws -> [String: UInt32] {
        let messages = try socket.request(object: "ip link list", type: UInt16(RTM_GETLINK), flags: Int32(NLM_F_REQUEST | NLM_F_DUMP)) { header in
            header.putExtraHeader(ifinfomsg())
        }
        var result: [String: UInt32] = [:]
        for message in messages where message.type == UInt16(RTM_NEWLINK) {
            message.withHeader { header in
                let info = UnsafeRawPointer(header).advanced(by: MemoryLayout<nlmsghdr>.size).loadUnaligned(as: ifinfomsg.self)
                let attributes = NetlinkAttributes(header, headerSize: MemoryLayout<ifinfomsg>.size)
                if let name = attributes.string(Int32(IFLA_IFNAME)) { result[name] = UInt32(bitPattern: info.ifi_index) }
            }
        }
        return result
    }
}
