import CNetlink
import Foundation
import UplinkCore

/// Everything uplinkctl owns in one network namespace: read back into the model, and changed
/// as a whole. Opens its sockets inside the namespace (as `ip -n` does) and never starts a process.
/// It keeps no state between calls: reads return values (`KernelSnapshot`), and a change is
/// applied against the snapshot it was planned from.
public final class Kernel {
    public let namespace: String?
    public let routing: RoutingKernel
    private let netfilter: NetlinkSocket
    private let sysctlFiles: SysctlFiles
    /// Nil when the kernel has no MPTCP path manager. Opened when first needed: most configs
    /// never name MPTCP.
    private lazy var mptcp: MptcpKernel? = MptcpKernel.open(namespace: namespace)
    /// UPLINKCTL_FAULT_AT=N replaces the N-th change of an apply with a request the kernel
    /// refuses, so tests can check that a refusal half-way leaves nothing changed.
    private let faultAt = ProcessInfo.processInfo.environment["UPLINKCTL_FAULT_AT"].flatMap { Int($0) }

    public init(namespace: String?) throws {
        self.namespace = namespace
        routing = try RoutingKernel(namespace: namespace)
        netfilter = try NetworkNamespace.run(namespace) { try NetlinkSocket(NETLINK_NETFILTER) }
        sysctlFiles = SysctlFiles(namespace: namespace)
    }

    private var nft: NftTableReader { NftTableReader(socket: netfilter, table: Ownership.nftTableName) }

    /// The kernel as it is now: one dump of links, rules and routes, the generation, our table,
    /// and the MPTCP path manager unless `mptcp` is false (then nil, as without MPTCP).
    public func snapshot(mptcp readMptcp: Bool = true) throws -> KernelSnapshot {
        let routing = try routing.snapshot()
        let generation = try nft.generation()
        return KernelSnapshot(routing: routing, generation: generation, nftables: try nft.read(),
                              mptcp: readMptcp ? try mptcp?.read(routing.links) : nil)
    }

    /// Our objects in `snapshot`, and the current values of the sysctls we want or changed.
    public func live(_ snapshot: KernelSnapshot, desired: DesiredState?, record: SysctlRecord) throws -> LiveState {
        try live(snapshot, sysctls: (desired?.sysctls.map(\.path) ?? []) + record.entries.map(\.path), record: record)
    }

    /// Our objects in `snapshot` (our MPTCP endpoints by `record`), and the current values of
    /// the sysctls at `paths`.
    public func live(_ snapshot: KernelSnapshot, sysctls paths: [[String]], record: SysctlRecord) throws -> LiveState {
        var state = LiveState(rules: snapshot.routing.ownedRules, routes: snapshot.routing.ownedRoutes,
                              nftables: snapshot.nftables, sysctls: try sysctlFiles.read(Array(Set(paths))))
        state.unknownRules = snapshot.routing.unknownOwnedRules
        state.mptcp = snapshot.mptcp?.owned(by: record)
        return state
    }

    private func mptcpLimitsStep(_ change: MptcpLimitsChange, _ transaction: inout Transaction) throws {
        guard let mptcp else { return }
        try transaction.step({ try mptcp.setLimits(change.value) }, undo: { try mptcp.setLimits(change.previous) })
    }

    private func sysctlStep(_ change: SysctlChange, _ transaction: inout Transaction) throws {
        let previous = change.previous
        try transaction.step({ try self.sysctlFiles.write(change.path, change.value) },
                             undo: { if let previous { try self.sysctlFiles.write(change.path, previous) } })
    }

    /// Established MPTCP connections, and the local address of each of their subflows (nil: no
    /// MPTCP in this kernel). Read for `status`, over sock_diag.
    public func mptcpConnections() throws -> (connections: Int, subflowSources: [IPAddress])? {
        guard mptcp != nil else { return nil }
        let diag = SocketDiagNetlink(socket: try NetworkNamespace.run(namespace) {
            try NetlinkSocket(NETLINK_SOCK_DIAG)
        })
        return (try diag.mptcpConnections(), try diag.subflowSources())
    }

    /// Packets and bytes of our named counters.
    public func counters() throws -> [String: (packets: UInt64, bytes: UInt64)] {
        Dictionary(try nft.counters().map { ($0.name, (packets: $0.packets, bytes: $0.bytes)) }, uniquingKeysWith: { a, _ in a })
    }

    /// Makes the changes, planned from `snapshot`, in make-before-break order; if any step fails,
    /// every step already made is undone in reverse, so the kernel is left as it was, and the
    /// first refusal is thrown. The nft transaction carries the snapshot's generation.
    public func apply(_ changes: ChangeSet, over snapshot: KernelSnapshot) throws {
        let links = snapshot.links
        let nftBefore = snapshot.nftables
        var transaction = Transaction(faultAt: faultAt, routing: routing)
        do {
            for route in changes.routesToAdd {
                try transaction.step({ try self.routing.add(route, links: links) }, undo: { try self.routing.delete(route, links: links) })
            }
            for pair in changes.routesToReplace {
                try transaction.step({ try self.routing.replace(pair.new, links: links) },
                                     undo: { try self.routing.replace(pair.old, links: links) })
            }
            for rule in changes.rulesToAdd {
                try transaction.step({ try self.routing.add(rule) }, undo: { try self.routing.delete(rule) })
            }
            for change in changes.sysctls where !change.isRestore {
                try sysctlStep(change, &transaction)
            }
            if let limits = changes.mptcpLimits, !limits.isRestore { try mptcpLimitsStep(limits, &transaction) }
            for endpoint in changes.mptcpEndpointsToAdd {
                try transaction.step({ try self.mptcp?.add(endpoint, links: links) },
                                     undo: { try self.mptcp?.delete(endpoint, links: links) })
            }
            if !changes.nftables.isEmpty {
                try transaction.step({ try NftBatch(socket: self.netfilter, table: Ownership.nftTableName).apply(changes.nftables, generation: snapshot.generation) }, undoEvenIfUncertain: true, undo: {
                    // Back to the table as it was, in one transaction: rebuilt whole, so that its
                    // objects are listed in their old order (named counters restart from zero).
                    try NftBatch(socket: self.netfilter, table: Ownership.nftTableName)
                        .apply(NftDiff.restoration(of: nftBefore?.model, replacing: try self.nft.read() != nil))
                })
            }
            for rule in changes.rulesToDelete {
                try transaction.step(ifChanged: { try deleted { try self.routing.delete(rule) } }, undo: { try self.routing.add(rule) })
            }
            for rule in changes.unknownRulesToDelete {
                try transaction.step(ifChanged: { try deleted { try self.routing.delete(rule) } }, undo: { try self.routing.recreate(rule) })
            }
            for route in changes.routesToDelete {
                try transaction.step(ifChanged: { try deleted { try self.routing.delete(route, links: links) } },
                                     undo: { try self.routing.add(route, links: links) })
            }
            for endpoint in changes.mptcpEndpointsToDelete {
                try transaction.step(ifChanged: { try deleted { try self.mptcp?.delete(endpoint) } },
                                     undo: { try self.mptcp?.add(endpoint.endpoint, links: links) })
            }
            if let limits = changes.mptcpLimits, limits.isRestore { try mptcpLimitsStep(limits, &transaction) }
            // Old values go back last, once nothing of ours relies on the new ones.
            for change in changes.sysctls where change.isRestore {
                try sysctlStep(change, &transaction)
            }
        } catch {
            let failures = transaction.rollBack()
            if !failures.isEmpty { throw IncompleteUndo(cause: error, failures: failures) }
            throw error
        }
    }
}

/// Steps made so far, with how to undo each.
private struct Transaction {
    let faultAt: Int?
    let routing: RoutingKernel
    private var undos: [() throws -> Void] = []
    private var count = 0

    init(faultAt: Int?, routing: RoutingKernel) {
        self.faultAt = faultAt
        self.routing = routing
    }

    /// `undoEvenIfUncertain`: when the step cannot tell whether it took effect, undo it anyway
    /// (the nft undo rebuilds the old table, which is right either way).
    mutating func step(_ make: () throws -> Void, undoEvenIfUncertain: Bool = false, undo: @escaping () throws -> Void) throws {
        count += 1
        if count == faultAt { try routing.sendRefusedRequest() }
        do {
            try make()
        } catch let error as UncertainBatch where undoEvenIfUncertain {
            undos.append(undo)
            throw error
        }
        undos.append(undo)
    }

    /// A step that may find nothing to do (a delete of something already gone): undone only
    /// when it did something.
    mutating func step(ifChanged make: () throws -> Bool, undo: @escaping () throws -> Void) throws {
        count += 1
        if count == faultAt { try routing.sendRefusedRequest() }
        if try make() { undos.append(undo) }
    }

    /// Undoes every step, newest first; returns what could not be undone.
    func rollBack() -> [String] {
        undos.reversed().compactMap { undo in
            do { try undo(); return nil } catch { return "\(error)" }
        }
    }
}

/// Runs a delete; false when the object was already gone, which is what we wanted anyway.
private func deleted(_ body: () throws -> Void) throws -> Bool {
    do {
        try body()
        return true
    } catch let refusal as KernelRefusal where refusal.errno == ENOENT || refusal.errno == ESRCH {
        return false
    }
}

/// The apply failed and could not be undone entirely: both are reported.
public struct IncompleteUndo: Error, CustomStringConvertible {
    public let cause: Error
    public let failures: [String]
    public var description: String {
        "\(cause); undoing the steps already made failed too: " + failures.joined(separator: "; ") + " (run `uplinkctl diff` to see the state)"
    }
}
