import CNetlink
import Glibc

/// A netlink request the kernel refused: which object, and the kernel's own words.
public struct KernelRefusal: Error, CustomStringConvertible {
    public let object: String
    public let errno: Int32
    /// The kernel's extended acknowledgement message, when it sent one.
    public let detail: String?

    public var description: String {
        var text = "\(object): \(String(cString: strerror(errno)))"
        if let detail, !detail.isEmpty { text += " (\(detail))" }
        if errno == EPERM { text += "; uplinkctl needs CAP_NET_ADMIN (run it as root, or give it the capability)" }
        if object.hasPrefix("nft "), errno == EOPNOTSUPP || errno == EPROTONOSUPPORT {
            text += "; nf_tables is not available in this kernel (CONFIG_NF_TABLES; modprobe nf_tables)"
        }
        return text
    }
}

/// One netlink message as received: its type and flags, and a copy of its bytes.
struct NetlinkMessage {
    let type: UInt16
    let flags: UInt16
    let bytes: [UInt8]

    /// Calls `body` with the message header, valid only inside the call.
    func withHeader<T>(_ body: (UnsafePointer<nlmsghdr>) throws -> T) rethrows -> T {
        try bytes.withUnsafeBytes { try body($0.baseAddress!.assumingMemoryBound(to: nlmsghdr.self)) }
    }
}

/// A libmnl socket of one netlink family, in the namespace of the thread that opened it.
final class NetlinkSocket: NetlinkTransport {
    private let socket: OpaquePointer
    private let portID: UInt32
    private var nextSequence: UInt32
    private var receiveBuffer: [UInt8]

    /// `joining`: multicast groups (RTNLGRP_*, NFNLGRP_*) whose events the socket receives.
    init(_ family: Int32, joining groups: [UInt32] = []) throws {
        guard let socket = mnl_socket_open(family) else {
            throw KernelRefusal(object: "netlink socket", errno: Glibc.errno, detail: nil)
        }
        self.socket = socket
        // Joined after bind: bind sets the first 32 groups to its own (none here).
        var joined = mnl_socket_bind(socket, 0, pid_t(MNL_SOCKET_AUTOPID)) == 0
        for group in groups where joined {
            var number = group
            joined =
                mnl_socket_setsockopt(socket, NETLINK_ADD_MEMBERSHIP, &number, socklen_t(MemoryLayout<UInt32>.size))
                == 0
        }
        guard joined else {
            let error = Glibc.errno
            mnl_socket_close(socket)
            throw KernelRefusal(
                object: groups.isEmpty ? "netlink socket" : "netlink event socket", errno: error, detail: nil)
        }
        portID = mnl_socket_get_portid(socket)
        nextSequence = UInt32(truncatingIfNeeded: time(nil))
        receiveBuffer = [UInt8](repeating: 0, count: max(uplinkctl_socket_buffer_size(), 65536))
        var on: Int32 = 1
        // Errors echo only the header of the failed request, followed by the kernel's message.
        _ = mnl_socket_setsockopt(socket, NETLINK_CAP_ACK, &on, socklen_t(MemoryLayout<Int32>.size))
        _ = mnl_socket_setsockopt(socket, NETLINK_EXT_ACK, &on, socklen_t(MemoryLayout<Int32>.size))
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        _ = setsockopt(
            mnl_socket_get_fd(socket), SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { mnl_socket_close(socket) }

    /// For poll(2).
    var descriptor: Int32 { mnl_socket_get_fd(socket) }

    func sequence() -> UInt32 {
        nextSequence &+= 1
        return nextSequence
    }

    func exchange(_ request: NetlinkRequest, each: ((NetlinkMessage) -> Void)?) throws -> [NetlinkMessage] {
        try request.bytes.withUnsafeBytes { try send($0) }
        return try receive(object: request.object, sequences: [request.sequence], keep: each == nil) { outcome in
            guard case .reply(let message) = outcome else { return .finished }
            if message.type == UInt16(NLMSG_DONE) { return .finished }
            each?(message)
            return .continue
        }
    }

    func batch(_ bytes: [UInt8], count: Int) throws -> [NetlinkAnswer] {
        // Room for a large batch and for all its answers (each acknowledgement takes about 1 KiB
        // of receive buffer; root may exceed the sysctl limits).
        let sizes = [(SO_SNDBUFFORCE, max(bytes.count * 2, 1 << 20)), (SO_RCVBUFFORCE, max(count * 2048, 1 << 20))]
        for (option, size) in sizes {
            var value = Int32(clamping: size)
            _ = setsockopt(mnl_socket_get_fd(socket), SOL_SOCKET, option, &value, socklen_t(MemoryLayout<Int32>.size))
        }
        try bytes.withUnsafeBytes { try send($0) }
        return pendingAnswers()
    }

    private func send(_ bytes: UnsafeRawBufferPointer) throws {
        guard mnl_socket_sendto(socket, bytes.baseAddress, bytes.count) >= 0 else {
            throw KernelRefusal(object: "netlink send", errno: Glibc.errno, detail: nil)
        }
    }

    private enum Outcome {
        case reply(NetlinkMessage)
        case acknowledged(sequence: UInt32)
    }

    private enum Progress { case `continue`, finished }

    /// Reads messages for `sequences` until `handle` says it is finished; a refusal is thrown.
    /// `keep`: return the replies (else `handle` alone sees them).
    private func receive(
        object: String, sequences: Set<UInt32>, keep: Bool = true,
        _ handle: (Outcome) throws -> Progress
    ) throws -> [NetlinkMessage] {
        var replies: [NetlinkMessage] = []
        while true {
            let count = receiveBuffer.withUnsafeMutableBytes { mnl_socket_recvfrom(socket, $0.baseAddress, $0.count) }
            guard count > 0 else {
                throw KernelRefusal(
                    object: object, errno: count == 0 ? EPIPE : Glibc.errno, detail: "no answer from the kernel")
            }
            var finished = false
            try receiveBuffer.withUnsafeBytes { raw in
                var remaining = Int32(count)
                var header = raw.baseAddress!.assumingMemoryBound(to: nlmsghdr.self)
                while mnl_nlmsg_ok(header, remaining) {
                    let message = header.pointee
                    guard message.nlmsg_pid == portID || message.nlmsg_pid == 0, sequences.contains(message.nlmsg_seq)
                    else {
                        header = UnsafePointer(mnl_nlmsg_next(header, &remaining))
                        continue
                    }
                    let outcome: Outcome
                    if message.nlmsg_type == UInt16(NLMSG_ERROR) {
                        let error = uplinkctl_nlmsg_error(header)!.pointee.error
                        if error == 0 {
                            outcome = .acknowledged(sequence: message.nlmsg_seq)
                        } else {
                            throw KernelRefusal(object: object, errno: -error, detail: extendedAckMessage(header))
                        }
                    } else {
                        let bytes = Array(UnsafeRawBufferPointer(start: header, count: Int(message.nlmsg_len)))
                        let reply = NetlinkMessage(type: message.nlmsg_type, flags: message.nlmsg_flags, bytes: bytes)
                        if keep && message.nlmsg_type != UInt16(NLMSG_DONE) { replies.append(reply) }
                        outcome = .reply(reply)
                    }
                    if try handle(outcome) == .finished { finished = true }
                    header = UnsafePointer(mnl_nlmsg_next(header, &remaining))
                }
            }
            if finished { return replies }
        }
    }
}

extension NetlinkSocket {
    /// The answers already waiting, without blocking.
    private func pendingAnswers() -> [NetlinkAnswer] {
        var answers: [NetlinkAnswer] = []
        while true {
            let count = receiveBuffer.withUnsafeMutableBytes {
                recv(mnl_socket_get_fd(socket), $0.baseAddress, $0.count, Int32(MSG_DONTWAIT))
            }
            guard count > 0 else { return answers }
            receiveBuffer.withUnsafeBytes { raw in
                var remaining = Int32(count)
                var header = raw.baseAddress!.assumingMemoryBound(to: nlmsghdr.self)
                while mnl_nlmsg_ok(header, remaining) {
                    if header.pointee.nlmsg_type == UInt16(NLMSG_ERROR) {
                        let error = uplinkctl_nlmsg_error(header)!.pointee.error
                        answers.append(
                            NetlinkAnswer(
                                sequence: header.pointee.nlmsg_seq, errno: -error,
                                detail: error == 0 ? nil : extendedAckMessage(header)))
                    }
                    header = UnsafePointer(mnl_nlmsg_next(header, &remaining))
                }
            }
        }
    }
}

/// NLMSGERR_ATTR_MSG of an error message (with NETLINK_CAP_ACK the attributes follow the
/// echoed header directly).
private func extendedAckMessage(_ header: UnsafePointer<nlmsghdr>) -> String? {
    guard header.pointee.nlmsg_flags & UInt16(NLM_F_ACK_TLVS) != 0 else { return nil }
    var found: String?
    let offset = MemoryLayout<nlmsgerr>.size
    withUnsafeMutablePointer(to: &found) { pointer in
        _ = mnl_attr_parse(
            header, UInt32(offset),
            { attribute, data in
                if mnl_attr_get_type(attribute) == UInt16(NLMSGERR_ATTR_MSG.rawValue),
                    let text = mnl_attr_get_str(attribute)
                {
                    data!.assumingMemoryBound(to: String?.self).pointee = String(cString: text)
                }
                return MNL_CB_OK
            }, pointer)
    }
    return found
}
