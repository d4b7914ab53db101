import CNetlink
import Glibc
import UplinkCore

/// MPTCP connections and their TCP subflows, from the kernel's socket diagnostics (inet_diag,
/// the dumps `ss -M` and `ss -ti` ask for), in the namespace the socket was opened in.
/// `socket` is a NETLINK_SOCK_DIAG socket.
struct SocketDiagNetlink {
    let socket: any NetlinkTransport

    /// Established MPTCP connections (the MPTCP-level sockets, not their subflows), both families.
    func mptcpConnections() throws -> Int {
        var count = 0
        for family in [AF_INET, AF_INET6] {
            count += try dump("ss -M", family: family, protocol: Diag.mptcp, extensions: 0) { _ in }
        }
        return count
    }

    /// The local addresses of the established TCP sockets that are MPTCP subflows (their upper
    /// layer protocol is "mptcp"), one element per subflow, both families.
    func subflowSources() throws -> [IPAddress] {
        var sources: [IPAddress] = []
        for family in [AF_INET, AF_INET6] {
            // INET_DIAG_INFO also brings INET_DIAG_ULP_INFO, where the ULP's name is.
            let tcp = UInt32(IPPROTO_TCP)
            _ = try dump("ss -ti", family: family, protocol: tcp, extensions: Diag.infoExtension) { found in
                if found.ulp == "mptcp", let source = found.source { sources.append(source) }
            }
        }
        return sources
    }

    /// One SOCK_DIAG_BY_FAMILY dump of established sockets; `each` sees every socket. Returns how many.
    private func dump(
        _ object: String, family: Int32, protocol number: UInt32, extensions: UInt8,
        _ each: (DiagSocket) -> Void
    ) throws -> Int {
        let messages: [NetlinkMessage]
        do {
            messages = try socket.request(
                object: object, type: Diag.byFamily,
                flags: Int32(NLM_F_REQUEST | NLM_F_DUMP)
            ) { header in
                header.putRequest(family: family, protocol: number, extensions: extensions)
            }
        } catch let refusal as KernelRefusal where refusal.errno == ENOENT && number == Diag.mptcp {
            // inet_diag has no handler for the protocol: the kernel was built without it.
            throw KernelRefusal(
                object: object, errno: ENOENT,
                detail: "this kernel cannot report MPTCP sockets (CONFIG_INET_MPTCP_DIAG)")
        }
        var count = 0
        for message in messages where message.type == Diag.byFamily {
            guard let socket = DiagSocket(message) else { continue }
            count += 1
            each(socket)
        }
        return count
    }
}

/// One struct inet_diag_msg and the attributes after it.
private struct DiagSocket {
    let source: IPAddress?
    /// INET_ULP_INFO_NAME inside INET_DIAG_ULP_INFO: "mptcp" for a subflow, "tls" for kTLS.
    let ulp: String?

    init?(_ message: NetlinkMessage) {
        let parsed = message.withHeader { header -> (IPAddress?, String?)? in
            guard Int(header.pointee.nlmsg_len) >= MemoryLayout<nlmsghdr>.size + Diag.messageSize else { return nil }
            let body = UnsafeRawPointer(header).advanced(by: MemoryLayout<nlmsghdr>.size)
            let family = Int32(body.load(as: UInt8.self))
            let length = family == AF_INET ? 4 : 16
            let bytes = Array(UnsafeRawBufferPointer(start: body + Diag.sourceOffset, count: length))
            let attributes = NetlinkAttributes(header, headerSize: Diag.messageSize)
            let nested = attributes.bytes(Diag.ulpInfo).map { NetlinkAttributes(packed: $0[...]) }
            let ulp = nested?.string(Diag.ulpName)
            return (IPAddress(bytes: bytes).map(Self.unmapped), ulp)
        }
        guard let parsed else { return nil }
        (source, ulp) = parsed
    }

    /// An IPv4 subflow of a dual-stack socket is dumped with its family, as ::ffff:a.b.c.d.
    private static func unmapped(_ address: IPAddress) -> IPAddress {
        let prefix: [UInt8] = Array(repeating: 0, count: 10) + [0xff, 0xff]
        guard address.family == .ipv6, address.bytes.starts(with: prefix) else { return address }
        return IPAddress(bytes: Array(address.bytes.suffix(4)))!
    }
}

/// linux/sock_diag.h and linux/inet_diag.h, which CNetlink does not include.
private enum Diag {
    static let byFamily: UInt16 = 20  // SOCK_DIAG_BY_FAMILY
    static let mptcp: UInt32 = 262  // IPPROTO_MPTCP
    static let establishedOnly: UInt32 = 1 << 1  // TCPF_ESTABLISHED: 1 << TCP_ESTABLISHED
    static let infoExtension: UInt8 = 1 << (2 - 1)  // 1 << (INET_DIAG_INFO - 1)
    static let requestProtocol: Int32 = 3  // INET_DIAG_REQ_PROTOCOL
    static let ulpInfo: Int32 = 19  // INET_DIAG_ULP_INFO
    static let ulpName: Int32 = 1  // INET_ULP_INFO_NAME
    /// struct inet_diag_req_v2: family, protocol, ext, pad (u8 each), states (u32), then the
    /// 48-byte struct inet_diag_sockid, left zero to match every socket.
    static let requestSize = 56
    /// struct inet_diag_msg: 4 u8s, the 48-byte inet_diag_sockid (ports, then idiag_src at
    /// offset 8), then five u32s.
    static let messageSize = 72
    static let sourceOffset = 8
}

private extension UnsafeMutablePointer where Pointee == nlmsghdr {
    /// struct inet_diag_req_v2, and the protocol as an attribute when it does not fit its u8.
    func putRequest(family: Int32, protocol number: UInt32, extensions: UInt8) {
        let request = mnl_nlmsg_put_extra_header(self, Diag.requestSize)!
        request.storeBytes(of: UInt8(family), as: UInt8.self)
        // The kernel takes INET_DIAG_REQ_PROTOCOL over this byte when present (as `ss -M` sends it).
        request.storeBytes(of: UInt8(truncatingIfNeeded: number), toByteOffset: 1, as: UInt8.self)
        request.storeBytes(of: extensions, toByteOffset: 2, as: UInt8.self)
        request.storeBytes(of: Diag.establishedOnly, toByteOffset: 4, as: UInt32.self)
        if number > UInt32(UInt8.max) { put(Diag.requestProtocol, u32: number) }
    }
}
