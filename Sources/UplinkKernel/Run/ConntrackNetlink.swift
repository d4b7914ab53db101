import CNetlink
import Glibc
import UplinkCore

/// The connections conntrack holds, over ctnetlink: counted and deleted by their mark, so that
/// the flows of a dead uplink (a VoIP call, a WireGuard tunnel, DNS) move to a working one
/// with their next packet. Entries of other marks are never touched.
struct ConntrackNetlink {
    let socket: NetlinkSocket

    init(namespace: String?) throws {
        socket = try NetworkNamespace.run(namespace) { try NetlinkSocket(NETLINK_NETFILTER) }
    }

    /// How many connections carry `bits` in their conntrack mark, in both families.
    func count(_ bits: MarkedBits) throws -> Int {
        try socket.request(object: "conntrack -L --mark \(bits)", type: messageType(IPCTNL_MSG_CT_GET),
                           flags: Int32(NLM_F_REQUEST | NLM_F_DUMP)) { header in
            put(bits, into: header)
        }.filter { $0.type & 0xff == UInt16(IPCTNL_MSG_CT_NEW.rawValue) }.count
    }

    /// Deletes every connection carrying `bits` in its conntrack mark, in both families.
    func delete(_ bits: MarkedBits) throws {
        _ = try socket.request(object: "conntrack -D --mark \(bits)", type: messageType(IPCTNL_MSG_CT_DELETE),
                               flags: Int32(NLM_F_REQUEST | NLM_F_ACK)) { header in
            put(bits, into: header)
        }
    }

    private func messageType(_ message: cntl_msg_types) -> UInt16 {
        UInt16(NFNL_SUBSYS_CTNETLINK) << 8 | UInt16(message.rawValue)
    }

    /// nfgenmsg for every family (AF_UNSPEC, version 0), then the mark filter, big-endian.
    private func put(_ bits: MarkedBits, into header: UnsafeMutablePointer<nlmsghdr>) {
        header.putExtraHeader(nfgenmsg(nfgen_family: UInt8(AF_UNSPEC), version: UInt8(NFNETLINK_V0), res_id: 0))
        header.put(Int32(CTA_MARK.rawValue), u32: bits.value.bigEndian)
        header.put(Int32(CTA_MARK_MASK.rawValue), u32: bits.mask.bigEndian)
    }
}
