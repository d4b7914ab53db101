import CNetlink
import Glibc
import Testing

@testable import UplinkCore
@testable import UplinkKernel

/// A kernel for unit tests of the kernel edge, with no root, socket or namespace: every request,
/// batch and sysctl the edge sends is recorded in order, and answered from a script (changes to
/// refuse by their number, reads by their object) and otherwise from a small model of what the
/// messages built (FakeRouting, FakeNftables, sysctl values), so that a second reading finds what
/// the first apply installed. Generic netlink answers that it has no MPTCP path manager.
final class FakeKernel {
    /// One thing the edge sent, in order.
    struct Record {
        enum Kind { case read, change }
        let kind: Kind
        /// What the edge called it (errors name it): `ip route add ...`, `nftables transaction`.
        let object: String
        /// The request, or the batch's messages (begin and end included); none for a sysctl.
        let messages: [FakeMessage]
        /// 0, or the errno it was refused with.
        let errno: Int32
    }

    /// Everything the fake kernel holds: equal before and after an apply that was undone.
    struct State: Equatable {
        var routing: FakeRouting
        var nftables = FakeNftables()
        /// Values by path below /proc/sys ("net/ipv4/ip_forward"); a path not here does not exist.
        var sysctls: [String: String]
    }

    private(set) var journal: [Record] = []
    var state: State
    /// Changes to refuse, by their number among the changes sent since the journal was last
    /// cleared (from 1: an apply's steps and its undo's alike), and the errno.
    var refusals: [Int: Int32] = [:]
    /// Reads to refuse, by the object the edge names them with.
    var refusedReads: [String: Int32] = [:]
    /// The ruleset's generation: one more with every batch committed.
    private(set) var generation: UInt32 = 1
    private var ruleHandles: UInt64 = 0
    private var sequences: UInt32 = 0

    init(links: [FakeRouting.Link], sysctls: [String: String]) {
        state = State(routing: FakeRouting(links: links), sysctls: sysctls)
    }

    /// The handle Kernel takes its sockets and /proc/sys from.
    var handle: KernelHandle {
        KernelHandle(socket: { FakeTransport(kernel: self, family: $0) }, sysctls: FakeSysctls(kernel: self))
    }

    var changes: [Record] { journal.filter { $0.kind == .change } }

    /// Forgets what was sent so far (the state stays).
    func clearJournal() { journal = [] }

    func sequence() -> UInt32 {
        sequences += 1
        return sequences
    }

    func exchange(_ request: NetlinkRequest, family: Int32) throws -> [NetlinkMessage] {
        let message = FakeMessage(request.bytes)
        let isRead: Bool
        switch family {
        case NETLINK_ROUTE: isRead = FakeRouting.isRead(message)
        case NETLINK_NETFILTER: isRead = FakeNftables.isRead(message)
        default: isRead = true
        }
        if isRead {
            // A read flagged as a change would count towards UPLINKCTL_FAULT_AT.
            if request.changes { Issue.record("\(request.object): a read sent as a change") }
            return try read(message, object: request.object, family: family)
        }
        var errno = refusals[changes.count + 1] ?? 0
        if errno == 0 { errno = family == NETLINK_ROUTE ? state.routing.change(message) : EOPNOTSUPP }
        journal.append(Record(kind: .change, object: request.object, messages: [message], errno: errno))
        if errno != 0 { throw KernelRefusal(object: request.object, errno: errno, detail: nil) }
        return []
    }

    private func read(_ message: FakeMessage, object: String, family: Int32) throws -> [NetlinkMessage] {
        do {
            if let errno = refusedReads[object] { throw FakeRefusal(errno: errno) }
            let replies: [NetlinkMessage]
            switch family {
            case NETLINK_ROUTE: replies = try state.routing.read(message)
            case NETLINK_NETFILTER: replies = try state.nftables.read(message, generation: generation)
            // Generic netlink: no "mptcp_pm" family here.
            default: throw FakeRefusal(errno: ENOENT)
            }
            journal.append(Record(kind: .read, object: object, messages: [message], errno: 0))
            return replies
        } catch let refusal as FakeRefusal {
            journal.append(Record(kind: .read, object: object, messages: [message], errno: refusal.errno))
            throw KernelRefusal(object: object, errno: refusal.errno, detail: nil)
        }
    }

    func batch(_ bytes: [UInt8]) -> [NetlinkAnswer] {
        let messages = FakeMessage.split(bytes)
        let answers: [NetlinkAnswer]
        if let errno = refusals[changes.count + 1] {
            // The first change of the batch refused: the kernel takes none of it.
            answers = [NetlinkAnswer(sequence: messages.dropFirst().first?.sequence ?? 0, errno: errno, detail: nil)]
        } else {
            answers = state.nftables.commit(messages, generation: generation, handles: &ruleHandles)
            if answers.allSatisfy({ $0.errno == 0 }) { generation += 1 }
        }
        journal.append(
            Record(
                kind: .change, object: "nftables transaction", messages: messages,
                errno: answers.first { $0.errno != 0 }?.errno ?? 0))
        return answers
    }

    func readSysctls(_ paths: [[String]]) -> [Sysctl] {
        journal.append(
            Record(
                kind: .read, object: "sysctl " + paths.map { Sysctl($0, "").key }.joined(separator: " "),
                messages: [], errno: 0))
        return paths.compactMap { path in state.sysctls[path.joined(separator: "/")].map { Sysctl(path, $0) } }
    }

    func writeSysctl(_ path: [String], _ value: String) throws {
        let object = shellCommand(IPCommands.sysctl(Sysctl(path, value)))
        let key = path.joined(separator: "/")
        let errno = refusals[changes.count + 1] ?? (state.sysctls[key] == nil ? ENOENT : 0)
        journal.append(Record(kind: .change, object: object, messages: [], errno: errno))
        guard errno == 0 else { throw KernelRefusal(object: object, errno: errno, detail: nil) }
        state.sysctls[key] = value
    }
}
