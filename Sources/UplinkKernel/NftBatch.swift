import CNetlink
import Glibc
import UplinkCore

/// Sends changes to our table as one nfnetlink transaction: the kernel applies all of them or
/// none. A refusal names the change it was for (matched by sequence number).
struct NftBatch {
    let socket: any NetlinkTransport
    let table: String

    /// `generation`: the ruleset generation the changes were computed from; if another program
    /// committed anything since, the kernel refuses the whole batch (ERESTART).
    func apply(_ changes: [NftChange], generation: UInt32? = nil) throws {
        guard !changes.isEmpty else { return }
        var bytes: [UInt8] = []
        var objects: [UInt32: String] = [:]
        let messages = NftMessages(table: table)
        let begin = socket.sequence()
        append(to: &bytes, capacity: 4096) { buffer in
            let header = nftnl_batch_begin(buffer, begin)!
            if let generation { mnl_attr_put_u32(header, UInt16(NFNL_BATCH_GENID.rawValue), generation.bigEndian) }
            return header
        }
        var count = 0
        for (index, change) in changes.enumerated() {
            for message in messages.messages(change, setID: UInt32(index + 1)) {
                let sequence = socket.sequence()
                objects[sequence] = change.command
                count += 1
                append(to: &bytes, capacity: message.capacity) { buffer in
                    let header = nftnl_nlmsg_build_hdr(
                        buffer, UInt16(message.type), UInt16(NFPROTO_INET), UInt16(Int32(NLM_F_ACK) | message.flags),
                        sequence)!
                    message.build(header)
                    return header
                }
            }
        }
        let end = socket.sequence()
        append(to: &bytes, capacity: 4096) { nftnl_batch_end($0, end) }

        let answers = try socket.batch(bytes, count: count)
        if let refusal = answers.first(where: { $0.errno != 0 }) {
            let object = objects[refusal.sequence] ?? "nftables transaction"
            let detail =
                refusal.errno == ERESTART && refusal.sequence == begin
                ? "another program changed the nftables ruleset while uplinkctl was reading it; run uplinkctl again"
                : refusal.detail
            throw KernelRefusal(object: object, errno: refusal.errno, detail: detail)
        }
        let acknowledged = Set(answers.map(\.sequence))
        guard objects.keys.allSatisfy(acknowledged.contains) else {
            throw UncertainBatch(acknowledged: acknowledged.count, sent: objects.count)
        }
    }

    /// Builds one message in a scratch buffer and appends its bytes.
    private func append(
        to bytes: inout [UInt8], capacity: Int, _ build: (UnsafeMutablePointer<CChar>) -> UnsafeMutablePointer<nlmsghdr>
    ) {
        var scratch = [UInt8](repeating: 0, count: capacity)
        scratch.withUnsafeMutableBytes { raw in
            let header = build(raw.baseAddress!.assumingMemoryBound(to: CChar.self))
            bytes += UnsafeRawBufferPointer(start: header, count: Int(header.pointee.nlmsg_len))
        }
    }
}

/// Some acknowledgements of a batch never came: it may or may not have been committed.
struct UncertainBatch: Error, CustomStringConvertible {
    let acknowledged: Int
    let sent: Int
    var description: String {
        "nftables transaction: the kernel acknowledged \(acknowledged) "
            + "of \(sent) changes; whether it committed is unknown"
    }
}
