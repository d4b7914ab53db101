import CNetlink
import Foundation
import UplinkCore

/// Everything uplinkctl owns in one network namespace: read back into the model, and changed
/// as a whole. Talks to the namespace through its handle (sockets opened inside it, as `ip -n`
/// does) and never starts a process. It keeps no state between calls: reads return values
/// (`KernelSnapshot`), and a change is applied against the snapshot it was planned from.
public final class Kernel {
    public let routing: RoutingKernel
    private let handle: KernelHandle
    private let netfilter: any NetlinkTransport
    private let sysctlFiles: any SysctlAccess
    /// Nil when the kernel has no MPTCP path manager. Opened when first needed: most configs
    /// never name MPTCP.
    private lazy var mptcp: MptcpKernel? = MptcpKernel.open(handle)

    public convenience init(namespace: String?) throws {
        try self.init(.namespace(namespace))
    }

    public init(_ handle: KernelHandle) throws {
        self.handle = handle
        routing = RoutingKernel(socket: try handle.socket(NETLINK_ROUTE))
        netfilter = try handle.socket(NETLINK_NETFILTER)
        sysctlFiles = handle.sysctls
    }

    private var nft: NftTableReader { NftTableReader(socket: netfilter, table: Ownership.nftTableName) }

    /// The kernel as it is now: one dump of links, rules and routes, the generation, our table,
    /// and the MPTCP path manager unless `mptcp` is false (then nil, as without MPTCP).
    public func snapshot(mptcp readMptcp: Bool = true) throws -> KernelSnapshot {
        let routing = try routing.snapshot()
        let generation = try nft.generation()
        return KernelSnapshot(
            routing: routing, generation: generation, nftables: try nft.read(),
            mptcp: readMptcp ? try mptcp?.read(routing.links) : nil)
    }

    /// Our objects in `snapshot`, and the current values of the sysctls we want or changed.
    public func live(_ snapshot: KernelSnapshot, desired: DesiredState?, record: SysctlRecord) throws -> LiveState {
        try live(snapshot, sysctls: (desired?.sysctls.map(\.path) ?? []) + record.entries.map(\.path), record: record)
    }

    /// Our objects in `snapshot` (our MPTCP endpoints by `record`), and the current values of
    /// the sysctls at `paths`.
    public func live(_ snapshot: KernelSnapshot, sysctls paths: [[String]], record: SysctlRecord) throws -> LiveState {
        var state = LiveState(
            rules: snapshot.routing.ownedRules, routes: snapshot.routing.ownedRoutes,
            nftables: snapshot.nftables, sysctls: try sysctlFiles.read(Array(Set(paths))))
        state.unknownRules = snapshot.routing.unknownOwnedRules
        state.mptcp = snapshot.mptcp?.owned(by: record)
        return state
    }

    private func mptcpLimitsStep(_ change: MptcpLimitsChange, _ transaction: inout Transaction) throws {
        guard let mptcp else { return }
        let undo = Undo(IPCommands.mptcpLimits(change.previous)) { try mptcp.setLimits(change.previous) }
        try transaction.step({ try mptcp.setLimits(change.value) }, undo: undo)
    }

    private func sysctlStep(_ change: SysctlChange, _ transaction: inout Transaction) throws {
        let previous = change.previous
        let undo = Undo(IPCommands.sysctl(Sysctl(change.path, previous ?? ""))) {
            if let previous { try self.sysctlFiles.write(change.path, previous) }
        }
        try transaction.step({ try self.sysctlFiles.write(change.path, change.value) }, undo: undo)
    }

    /// Established MPTCP connections, and the local address of each of their subflows (nil: no
    /// MPTCP in this kernel). Read for `status`, over sock_diag.
    public func mptcpConnections() throws -> (connections: Int, subflowSources: [IPAddress])? {
        guard mptcp != nil else { return nil }
        let diag = SocketDiagNetlink(socket: try handle.socket(NETLINK_SOCK_DIAG))
        return (try diag.mptcpConnections(), try diag.subflowSources())
    }

    /// Packets and bytes of our named counters.
    public func counters() throws -> [String: (packets: UInt64, bytes: UInt64)] {
        Dictionary(
            try nft.counters().map { ($0.name, (packets: $0.packets, bytes: $0.bytes)) },
            uniquingKeysWith: { a, _ in a })
    }

    /// Makes the changes, planned from `snapshot`, in make-before-break order; if any step fails,
    /// every step already made is undone in reverse, so the kernel is left as it was, and the
    /// first refusal is thrown. The nft transaction carries the snapshot's generation.
    public func apply(_ changes: ChangeSet, over snapshot: KernelSnapshot) throws {
        let links = snapshot.links
        let nftBefore = snapshot.nftables
        var transaction = Transaction()
        do {
            for route in changes.routesToAdd {
                try transaction.step(
                    { try self.routing.add(route, links: links) },
                    undo: Undo(IPCommands.route(route, .del)) {
                        try self.routing.delete(route, links: links)
                    })
            }
            for pair in changes.routesToReplace {
                try transaction.step(
                    { try self.routing.replace(pair.new, links: links) },
                    undo: Undo(IPCommands.route(pair.old, .replace)) {
                        try self.routing.replace(pair.old, links: links)
                    })
            }
            for rule in changes.rulesToAdd {
                try transaction.step(
                    { try self.routing.add(rule) },
                    undo: Undo(IPCommands.rule(rule, .del)) { try self.routing.delete(rule) })
            }
            for change in changes.sysctls where !change.isRestore {
                try sysctlStep(change, &transaction)
            }
            if let limits = changes.mptcpLimits, !limits.isRestore { try mptcpLimitsStep(limits, &transaction) }
            for endpoint in changes.mptcpEndpointsToAdd {
                try transaction.step(
                    { try self.mptcp?.add(endpoint, links: links) },
                    undo: Undo(object: "ip mptcp endpoint delete \(endpoint)") {
                        try self.mptcp?.delete(endpoint, links: links)
                    })
            }
            if !changes.nftables.isEmpty {
                // Back to the table as it was, in one transaction: rebuilt whole, so that its
                // objects are listed in their old order (named counters restart from zero).
                let table = "nft table inet \(Ownership.nftTableName)"
                let restore = Undo(object: table + (nftBefore == nil ? " deleted" : " put back as it was")) {
                    try NftBatch(socket: self.netfilter, table: Ownership.nftTableName)
                        .apply(
                            NftDiff.restoration(
                                of: nftBefore?.model, order: nftBefore?.setOrder ?? [],
                                replacing: try self.nft.read() != nil))
                }
                try transaction.step(
                    {
                        try NftBatch(socket: self.netfilter, table: Ownership.nftTableName)
                            .apply(changes.nftables, generation: snapshot.generation)
                    }, undoEvenIfUncertain: true, undo: restore)
            }
            // A rule put back goes where it was (RuleOrder).
            let order = snapshot.routing.ruleOrder
            for rule in changes.rulesToDelete {
                try transaction.step(
                    ifChanged: { try deleted { try self.routing.delete(rule) } },
                    undo: Undo(IPCommands.rule(rule, .add)) {
                        try self.routing.add(rule)
                        try self.routing.moveToEnd(order.followers(of: rule))
                    })
            }
            for rule in changes.unknownRulesToDelete {
                try transaction.step(
                    ifChanged: { try deleted { try self.routing.delete(rule) } },
                    undo: Undo(object: "recreate " + rule.deletion) {
                        try self.routing.recreate(rule)
                        try self.routing.moveToEnd(order.followers(of: rule))
                    })
            }
            for route in changes.routesToDelete {
                try transaction.step(
                    ifChanged: { try deleted { try self.routing.delete(route, links: links) } },
                    undo: Undo(IPCommands.route(route, .add)) {
                        try self.routing.add(route, links: links)
                    })
            }
            for endpoint in changes.mptcpEndpointsToDelete {
                try transaction.step(
                    ifChanged: { try deleted { try self.mptcp?.delete(endpoint) } },
                    undo: Undo(
                        object: "ip mptcp endpoint add \(endpoint.endpoint) "
                            + "id \(endpoint.id)"
                    ) {
                        // With its old id: the endpoints are listed by id.
                        try self.mptcp?.add(endpoint.endpoint, links: links, id: endpoint.id)
                    })
            }
            if let limits = changes.mptcpLimits, limits.isRestore { try mptcpLimitsStep(limits, &transaction) }
            // Old values go back last, once nothing of ours relies on the new ones.
            for change in changes.sysctls where change.isRestore {
                try sysctlStep(change, &transaction)
            }
        } catch {
            let (undone, failures) = transaction.rollBack()
            if !failures.isEmpty { throw IncompleteUndo(cause: error, undone: undone, failures: failures) }
            throw error
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
