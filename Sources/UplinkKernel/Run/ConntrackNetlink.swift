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

    /// Deletes the connections translated to a service backend: DNATed, their answers from
    /// `address` (any address for a backend on this host) and `ports`, by one of `protocols`.
    /// Their next packet then meets a live backend (kube-proxy clears stale UDP entries alike).
    /// Returns how many were deleted; one that ended meanwhile is not counted.
    func deleteTranslated(to address: IPAddress?, ports: PortRange, protocols: [UInt8], families: [IPFamily]) throws -> Int {
        var deleted = 0
        for family in families {
            let entries = try socket.request(object: "conntrack -L", type: messageType(IPCTNL_MSG_CT_GET),
                                             flags: Int32(NLM_F_REQUEST | NLM_F_DUMP)) { header in
                header.putExtraHeader(nfgenmsg(nfgen_family: UInt8(family == .ipv4 ? AF_INET : AF_INET6), version: UInt8(NFNETLINK_V0), res_id: 0))
            }.filter { $0.type & 0xff == UInt16(IPCTNL_MSG_CT_NEW.rawValue) }
            for entry in entries {
                let attributes = entry.withHeader { NetlinkAttributes($0, headerSize: MemoryLayout<nfgenmsg>.size) }
                guard let original = attributes.bytes(Int32(CTA_TUPLE_ORIG.rawValue)),
                      let reply = attributes.bytes(Int32(CTA_TUPLE_REPLY.rawValue)).map(Self.tuple),
                      let status = attributes.u32(Int32(CTA_STATUS.rawValue)).map({ UInt32(bigEndian: $0) }),
                      status & Self.destinationNatted != 0, ports.lower <= reply.port, reply.port <= ports.upper, protocols.contains(reply.protocolNumber),
                      address == nil || reply.source == address else { continue }
                do {
                    _ = try socket.request(object: "conntrack -D", type: messageType(IPCTNL_MSG_CT_DELETE),
                                           flags: Int32(NLM_F_REQUEST | NLM_F_ACK)) { header in
                        header.putExtraHeader(nfgenmsg(nfgen_family: UInt8(family == .ipv4 ? AF_INET : AF_INET6), version: UInt8(NFNETLINK_V0), res_id: 0))
                        header.put(Int32(CTA_TUPLE_ORIG.rawValue) | Int32(NLA_F_NESTED), bytes: original)
                    }
                    deleted += 1
                } catch {
                    continue  // ended meanwhile
                }
            }
        }
        return deleted
    }

    /// IPS_DST_NAT.
    private static let destinationNatted: UInt32 = 0x20

    /// A tuple's source address, protocol and source port.
    private static func tuple(_ bytes: [UInt8]) -> (source: IPAddress?, protocolNumber: UInt8, port: UInt16) {
        let tuple = NetlinkAttributes(packed: bytes[...])
        let ip = NetlinkAttributes(packed: (tuple.bytes(Int32(CTA_TUPLE_IP.rawValue)) ?? [])[...])
        let source = (ip.bytes(Int32(CTA_IP_V4_SRC.rawValue)) ?? ip.bytes(Int32(CTA_IP_V6_SRC.rawValue))).flatMap { IPAddress(bytes: $0) }
        let proto = NetlinkAttributes(packed: (tuple.bytes(Int32(CTA_TUPLE_PROTO.rawValue)) ?? [])[...])
        let port = proto.bytes(Int32(CTA_PROTO_SRC_PORT.rawValue)).map { $0.count == 2 ? UInt16($0[0]) << 8 | UInt16($0[1]) : 0 } ?? 0
        return (source, proto.u8(Int32(CTA_PROTO_NUM.rawValue)) ?? 0, port)
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
