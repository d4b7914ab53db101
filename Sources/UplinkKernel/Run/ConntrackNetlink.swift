import CNetlink
import Glibc
import UplinkCore

/// The connections conntrack holds, over ctnetlink: counted and deleted by their mark, so that
/// the flows of a dead uplink (a VoIP call, a WireGuard tunnel, DNS) move to a working one
/// with their next packet (entries of other marks are never touched); and the UDP flows a
/// service sent to a backend that died.
struct ConntrackNetlink {
    let socket: any NetlinkTransport

    init(namespace: String?) throws {
        socket = try NetworkNamespace.run(namespace) { try NetlinkSocket(NETLINK_NETFILTER) }
    }

    /// How many connections carry `bits` in their conntrack mark, in both families.
    func count(_ bits: MarkedBits) throws -> Int {
        try socket.request(
            object: "conntrack -L --mark \(bits)", type: messageType(IPCTNL_MSG_CT_GET),
            flags: Int32(NLM_F_REQUEST | NLM_F_DUMP)
        ) { header in
            put(bits, into: header)
        }.filter { $0.type & 0xff == UInt16(IPCTNL_MSG_CT_NEW.rawValue) }.count
    }

    /// Deletes every connection carrying `bits` in its conntrack mark, in both families.
    func delete(_ bits: MarkedBits) throws {
        _ = try socket.request(
            object: "conntrack -D --mark \(bits)", type: messageType(IPCTNL_MSG_CT_DELETE),
            flags: Int32(NLM_F_REQUEST | NLM_F_ACK), changes: true
        ) { header in
            put(bits, into: header)
        }
    }

    /// Deletes the stale entries a service translated to a backend that died: original
    /// destination the service's (its address, if it has one, and ports), answers from `backend`
    /// (`ports`; its address, when it has one); UDP flows, whose next datagram then meets a live
    /// backend (as kube-proxy clears stale UDP entries), and TCP entries of connections that are
    /// not established (closing, closed, reset, or a SYN unanswered), which conntrack would
    /// otherwise hand to a new connection from the same client port, still translated to the
    /// dead backend. Established TCP connections are left to end by themselves (a backend that
    /// is slow rather than dead keeps them). The table is dumped one message at a time, per
    /// family, and nothing else is touched. Returns how many were deleted.
    func deleteStaleEntries(of service: Service, to backend: Backend) throws -> Int {
        let ports = service.ports(of: backend)
        var deleted = 0
        for family in service.families where backend.serves(family) {
            // By tuple and id: a client port reused since the dump has a new entry under the same tuple.
            var found: [(tuple: [UInt8], id: UInt32)] = []
            _ = try socket.request(
                object: "conntrack -L", type: messageType(IPCTNL_MSG_CT_GET), flags: Int32(NLM_F_REQUEST | NLM_F_DUMP),
                { $0.putExtraHeader(Self.header(family)) }
            ) { entry in
                guard entry.type & 0xff == UInt16(IPCTNL_MSG_CT_NEW.rawValue) else { return }
                let attributes = entry.withHeader { NetlinkAttributes($0, headerSize: MemoryLayout<nfgenmsg>.size) }
                guard let original = attributes.bytes(Int32(CTA_TUPLE_ORIG.rawValue)),
                    let id = attributes.u32(Int32(CTA_ID.rawValue)),
                    let reply = attributes.bytes(Int32(CTA_TUPLE_REPLY.rawValue)).map(Self.tuple),
                    let status = attributes.u32(Int32(CTA_STATUS.rawValue)).map({ UInt32(bigEndian: $0) })
                else { return }
                let asked = Self.tuple(original)
                let stale =
                    asked.protocolNumber == IPProtocolNumber.udp
                    || (asked.protocolNumber == IPProtocolNumber.tcp
                        && Self.tcpState(attributes) != Self.tcpEstablished)
                guard status & Self.destinationNatted != 0, stale, service.protocols.contains(asked.protocolNumber),
                    service.ports.lower <= asked.destinationPort, asked.destinationPort <= service.ports.upper,
                    service.address == nil || asked.destination == service.address,
                    ports.lower <= reply.sourcePort, reply.sourcePort <= ports.upper,
                    backend.address == nil || reply.source == backend.address
                else { return }
                found.append((original, id))
            }
            for (original, id) in found {
                do {
                    _ = try socket.request(
                        object: "conntrack -D", type: messageType(IPCTNL_MSG_CT_DELETE),
                        flags: Int32(NLM_F_REQUEST | NLM_F_ACK), changes: true
                    ) { header in
                        header.putExtraHeader(Self.header(family))
                        header.put(Int32(CTA_TUPLE_ORIG.rawValue) | Int32(NLA_F_NESTED), bytes: original)
                        header.put(Int32(CTA_ID.rawValue), u32: id)  // as listed: big-endian already
                    }
                    deleted += 1
                } catch {
                    continue  // ended meanwhile
                }
            }
        }
        return deleted
    }

    private static func header(_ family: IPFamily) -> nfgenmsg {
        nfgenmsg(nfgen_family: UInt8(family == .ipv4 ? AF_INET : AF_INET6), version: UInt8(NFNETLINK_V0), res_id: 0)
    }

    /// IPS_DST_NAT.
    private static let destinationNatted: UInt32 = 0x20
    /// TCP_CONNTRACK_ESTABLISHED.
    private static let tcpEstablished: UInt8 = 3

    /// CTA_PROTOINFO → CTA_PROTOINFO_TCP → CTA_PROTOINFO_TCP_STATE.
    private static func tcpState(_ attributes: NetlinkAttributes) -> UInt8? {
        let info = NetlinkAttributes(packed: (attributes.bytes(Int32(CTA_PROTOINFO.rawValue)) ?? [])[...])
        let tcp = NetlinkAttributes(packed: (info.bytes(Int32(CTA_PROTOINFO_TCP.rawValue)) ?? [])[...])
        return tcp.u8(Int32(CTA_PROTOINFO_TCP_STATE.rawValue))
    }

    struct Tuple {
        var source: IPAddress?
        var destination: IPAddress?
        var protocolNumber: UInt8
        var sourcePort: UInt16
        var destinationPort: UInt16
    }

    /// A CTA_TUPLE_* attribute's addresses, protocol and ports.
    private static func tuple(_ bytes: [UInt8]) -> Tuple {
        let tuple = NetlinkAttributes(packed: bytes[...])
        let ip = NetlinkAttributes(packed: (tuple.bytes(Int32(CTA_TUPLE_IP.rawValue)) ?? [])[...])
        let proto = NetlinkAttributes(packed: (tuple.bytes(Int32(CTA_TUPLE_PROTO.rawValue)) ?? [])[...])
        func address(_ v4: ctattr_ip, _ v6: ctattr_ip) -> IPAddress? {
            (ip.bytes(Int32(v4.rawValue)) ?? ip.bytes(Int32(v6.rawValue))).flatMap { IPAddress(bytes: $0) }
        }
        func port(_ type: ctattr_l4proto) -> UInt16 {
            proto.u16(Int32(type.rawValue)).map(UInt16.init(bigEndian:)) ?? 0
        }
        return Tuple(
            source: address(CTA_IP_V4_SRC, CTA_IP_V6_SRC), destination: address(CTA_IP_V4_DST, CTA_IP_V6_DST),
            protocolNumber: proto.u8(Int32(CTA_PROTO_NUM.rawValue)) ?? 0,
            sourcePort: port(CTA_PROTO_SRC_PORT), destinationPort: port(CTA_PROTO_DST_PORT))
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
