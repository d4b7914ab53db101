import CNetlink
import Glibc
import UplinkCore

/// The MPTCP path manager of the namespace the socket was opened in: the in-kernel path
/// manager's endpoints and limits over generic netlink (family "mptcp_pm", linux/mptcp.h),
/// the requests `ip mptcp` sends. `socket` is a NETLINK_GENERIC socket.
struct MptcpNetlink {
    let socket: any NetlinkTransport
    /// The message type of "mptcp_pm": generic families get theirs when registered, so it can
    /// differ between kernels and boots.
    let family: UInt16

    init(socket: any NetlinkTransport) throws {
        self.socket = socket
        let replies: [NetlinkMessage]
        do {
            // A single answer, not a dump: the acknowledgement asked for ends it.
            replies = try socket.request(
                object: "ip mptcp", type: Generic.controller,
                flags: Int32(NLM_F_REQUEST | NLM_F_ACK)
            ) { header in
                header.putExtraHeader(GenericHeader(command: Generic.getFamily, version: 1))
                header.put(Generic.familyName, string: "mptcp_pm")
            }
        } catch let refusal as KernelRefusal where refusal.errno == ENOENT {
            throw Self.missing(ENOENT)
        }
        let ids = replies.compactMap { reply in
            reply.withHeader { NetlinkAttributes($0, headerSize: GenericHeader.size).u16(Generic.familyID) }
        }
        guard let id = ids.first else { throw Self.missing(ENOENT) }
        family = id
    }

    private static func missing(_ errno: Int32) -> KernelRefusal {
        KernelRefusal(object: "ip mptcp", errno: errno, detail: "this kernel has no MPTCP path manager (CONFIG_MPTCP)")
    }

    /// Every endpoint and the limits. `interfaces`: interface index → name (endpoints whose
    /// index is unknown or 0 get interface "").
    func read(interfaces: [UInt32: String]) throws -> LiveMptcp {
        let dump = try request("ip mptcp endpoint show", Mptcp.getAddress, dump: true) { _ in }
        let endpoints = dump.compactMap { reply in
            reply.withHeader { header -> LiveMptcp.Endpoint? in
                let message = NetlinkAttributes(header, headerSize: GenericHeader.size)
                guard let nested = message.bytes(Mptcp.address) else { return nil }
                let entry = NetlinkAttributes(packed: nested[...])
                let bytes = entry.bytes(Mptcp.address4) ?? entry.bytes(Mptcp.address6)
                guard let address = bytes.flatMap(IPAddress.init(bytes:)) else { return nil }
                guard let id = entry.u8(Mptcp.id) else { return nil }
                let flags = entry.u32(Mptcp.flags) ?? 0
                // The kernel leaves IF_IDX out for an endpoint without a device.
                let index = entry.u32(Mptcp.interfaceIndex) ?? 0
                let endpoint = MptcpEndpoint(
                    address: address, interface: index == 0 ? "" : interfaces[index] ?? "",
                    subflow: flags & Mptcp.subflow != 0, signal: flags & Mptcp.signal != 0)
                let otherFlags = flags & ~(Mptcp.subflow | Mptcp.signal)
                return LiveMptcp.Endpoint(id: id, endpoint: endpoint, otherFlags: otherFlags)
            }
        }
        let answer = try request("ip mptcp limits show", Mptcp.getLimits) { _ in }
        let limits = answer.first.map { reply in
            reply.withHeader { header in
                let attributes = NetlinkAttributes(header, headerSize: GenericHeader.size)
                return MptcpLimits(
                    subflows: attributes.u32(Mptcp.subflows) ?? 0,
                    addAddrAccepted: attributes.u32(Mptcp.addAddrAccepted) ?? 0)
            }
        }
        return LiveMptcp(endpoints: endpoints, limits: limits ?? MptcpLimits(subflows: 0, addAddrAccepted: 0))
    }

    /// Adds an endpoint; without an id, the kernel picks the next free one.
    func add(_ endpoint: MptcpEndpoint, interfaceIndex: UInt32, id: UInt8? = nil) throws {
        let flags = (endpoint.signal ? Mptcp.signal : 0) | (endpoint.subflow ? Mptcp.subflow : 0)
        let object = "ip mptcp endpoint add \(endpoint)" + (id.map { " id \($0)" } ?? "")
        _ = try request(object, Mptcp.addAddress, changes: true) { header in
            header.putAddress(endpoint.address, id: id, flags: flags, interfaceIndex: interfaceIndex)
        }
    }

    /// Deletes by id; the address goes along as iproute2 sends it (the kernel needs it only for id 0).
    func delete(id: UInt8, endpoint: MptcpEndpoint) throws {
        _ = try request("ip mptcp endpoint delete id \(id)", Mptcp.deleteAddress, changes: true) { header in
            header.putAddress(endpoint.address, id: id, flags: nil, interfaceIndex: 0)
        }
    }

    func setLimits(_ limits: MptcpLimits) throws {
        _ = try request("ip mptcp limits set \(limits)", Mptcp.setLimits, changes: true) { header in
            header.put(Mptcp.addAddrAccepted, u32: limits.addAddrAccepted)
            header.put(Mptcp.subflows, u32: limits.subflows)
        }
    }

    /// A dump ends with NLMSG_DONE; anything else asks for an acknowledgement, the only sign
    /// that a single answer (GET_LIMITS) is complete.
    private func request(
        _ object: String, _ command: UInt8, dump: Bool = false, changes: Bool = false,
        _ build: (UnsafeMutablePointer<nlmsghdr>) -> Void
    ) throws -> [NetlinkMessage] {
        let flags = Int32(NLM_F_REQUEST) | (dump ? Int32(NLM_F_DUMP) : Int32(NLM_F_ACK))
        let messages = try socket.request(object: object, type: family, flags: flags, changes: changes) { header in
            header.putExtraHeader(GenericHeader(command: command, version: Mptcp.version))
            build(header)
        }
        return messages.filter { $0.type == family }
    }
}

/// struct genlmsghdr, which follows the netlink header of every generic netlink message.
private struct GenericHeader {
    var command: UInt8
    var version: UInt8
    var reserved: UInt16 = 0
    static let size = MemoryLayout<GenericHeader>.size
}

/// linux/genetlink.h, which CNetlink does not include.
private enum Generic {
    static let controller = UInt16(NLMSG_MIN_TYPE)  // GENL_ID_CTRL
    static let getFamily: UInt8 = 3
    static let familyID: Int32 = 1
    static let familyName: Int32 = 2
}

/// linux/mptcp.h, which CNetlink does not include.
private enum Mptcp {
    static let version: UInt8 = 1
    static let addAddress: UInt8 = 1
    static let deleteAddress: UInt8 = 2
    static let getAddress: UInt8 = 3
    static let setLimits: UInt8 = 5
    static let getLimits: UInt8 = 6
    // MPTCP_PM_ATTR_*
    static let address: Int32 = 1
    static let addAddrAccepted: Int32 = 2
    static let subflows: Int32 = 3
    // MPTCP_PM_ADDR_ATTR_*, inside `address`
    static let family: Int32 = 1
    static let id: Int32 = 2
    static let address4: Int32 = 3
    static let address6: Int32 = 4
    static let flags: Int32 = 6
    static let interfaceIndex: Int32 = 7
    // MPTCP_PM_ADDR_FLAG_*
    static let signal: UInt32 = 1
    static let subflow: UInt32 = 2
}

private extension UnsafeMutablePointer where Pointee == nlmsghdr {
    /// MPTCP_PM_ATTR_ADDR; attributes left nil (and an index of 0) are left out, as ip does.
    func putAddress(_ address: IPAddress, id: UInt8?, flags: UInt32?, interfaceIndex: UInt32) {
        let nest = startNest(Mptcp.address)
        put(Mptcp.family, u16: UInt16(address.family.addressFamily))
        if let id { put(Mptcp.id, u8: id) }
        put(address.family == .ipv4 ? Mptcp.address4 : Mptcp.address6, bytes: address.bytes)
        if let flags { put(Mptcp.flags, u32: flags) }
        if interfaceIndex != 0 { put(Mptcp.interfaceIndex, u32: interfaceIndex) }
        endNest(nest)
    }
}
