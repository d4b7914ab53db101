import CNetlink

/// What the kernel edge asks of a netlink socket: one request and its answer, or one nfnetlink
/// batch and its acknowledgements. NetlinkSocket does it over libmnl; tests put a recording fake
/// in its place (as apple/containerization's NetlinkSocket protocol and google/nftables' test
/// dial do), and FaultInjectingTransport wraps it for the lab's fault injection.
protocol NetlinkTransport: AnyObject {
    /// A fresh sequence number for a message sent over this socket.
    func sequence() -> UInt32

    /// Sends `request` and collects the answer: the messages of a dump up to NLMSG_DONE, or the
    /// acknowledgement of a change. A refusal is thrown as a KernelRefusal naming the request's
    /// object. `each`: a dump's messages are handed over one by one and not kept (a conntrack
    /// table can be large); the result is then empty.
    func exchange(_ request: NetlinkRequest, each: ((NetlinkMessage) -> Void)?) throws -> [NetlinkMessage]

    /// Sends an nfnetlink batch (begin, `count` messages, end) and returns the acknowledgements
    /// and refusals the kernel queued for it: nfnetlink handles a whole batch inside sendmsg.
    func batch(_ bytes: [UInt8], count: Int) throws -> [NetlinkAnswer]
}

/// One netlink request: its bytes (the header first), the object it is about (a refusal names
/// it), and whether it changes the kernel (a read only asks; fault injection counts changes).
struct NetlinkRequest {
    let object: String
    let bytes: [UInt8]
    let changes: Bool

    var sequence: UInt32 { bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 8, as: UInt32.self) } }
}

/// One acknowledgement or refusal of a batch's message: its sequence number, 0 or an errno, and
/// the kernel's words.
struct NetlinkAnswer {
    let sequence: UInt32
    let errno: Int32
    let detail: String?
}

extension NetlinkTransport {
    /// Sends one request built in `build` (header already placed: type, flags, sequence) and
    /// collects the answer, as `exchange` does. `changes`: the request changes the kernel.
    func request(
        object: String, type: UInt16, flags: Int32, changes: Bool = false,
        _ build: (UnsafeMutablePointer<nlmsghdr>) -> Void,
        each: ((NetlinkMessage) -> Void)? = nil
    ) throws -> [NetlinkMessage] {
        var buffer = [UInt8](repeating: 0, count: 32768)
        let sequence = self.sequence()
        let length: Int = buffer.withUnsafeMutableBytes { raw in
            let header = mnl_nlmsg_put_header(raw.baseAddress)!
            header.pointee.nlmsg_type = type
            header.pointee.nlmsg_flags = UInt16(flags)
            header.pointee.nlmsg_seq = sequence
            build(header)
            return Int(header.pointee.nlmsg_len)
        }
        buffer.removeSubrange(length...)
        return try exchange(NetlinkRequest(object: object, bytes: buffer, changes: changes), each: each)
    }
}
