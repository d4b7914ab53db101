import Glibc
import UplinkCore

/// uplinkctl's workflows over one network namespace: read the kernel as it is now, plan,
/// compare, change the difference. The commands call these and only print; a long-running
/// process calls `apply` for each reaction, each time on a fresh reading.
public final class Reconciler {
    public let kernel: Kernel
    public let store: StateStore

    public init(kernel: Kernel, store: StateStore) {
        self.kernel = kernel
        self.store = store
    }

    /// One reading of the kernel against a config (nil: nothing desired, as flush wants).
    public struct Reading: Sendable {
        public let snapshot: KernelSnapshot
        /// The uplinks the plan left out of the rotation.
        public let down: Set<String>
        public let desired: DesiredState?
        /// What `desired` was planned from besides the config.
        public let facts: PlanFacts?
        public let live: LiveState
        /// The sysctl values uplinkctl replaced, and what it wrote.
        public let record: SysctlRecord

        public var changes: ChangeSet { StateDiff.changes(from: live, to: desired, record: record) }
    }

    /// `down`: the uplinks out of the rotation, decided from this very reading (`run`'s link
    /// health and its probes' verdicts), so that a reaction reads the kernel once.
    /// `downBackends`: the service backends `run`'s checks found dead.
    public func read(
        _ config: Config?, down: (KernelSnapshot) -> Set<String> = { _ in [] },
        downBackends: Set<String> = []
    ) throws -> Reading {
        var record = try store.record()
        // The MPTCP path manager only when the config or the record names it: otherwise there is
        // nothing of ours in it to compare or put back.
        let snapshot = try kernel.snapshot(mptcp: config?.mptcp != nil || record.mptcp != nil)
        let out = config == nil ? [] : down(snapshot)
        let facts = config.map { config in
            var facts = snapshot.facts(config, down: out)
            facts.downBackends = downBackends
            return facts
        }
        let desired = config.flatMap { config in facts.map { Planner.plan(config, facts: $0) } }
        var live = try kernel.live(snapshot, desired: desired, record: record)
        // A record while nothing of ours is installed, and no setting holds what it says
        // uplinkctl wrote, is left over from an earlier life of the namespace (inodes are
        // reused): it is dropped. One whose settings still hold it (an undo that failed) stays.
        if live.nftables == nil && live.rules.isEmpty && live.routes.isEmpty && live.unknownRules.isEmpty
            && !record.isEmpty && live.mptcp?.endpoints.isEmpty ?? true && !record.isHeld(in: live)
        {
            record = SysctlRecord()
            live = try kernel.live(snapshot, desired: desired, record: record)
        }
        return Reading(snapshot: snapshot, down: out, desired: desired, facts: facts, live: live, record: record)
    }

    /// How an apply ended. Every case but `applied` and `inSync` left the kernel as it was,
    /// except `incompleteUndo`, which says what could not be put back.
    public enum Outcome {
        case inSync
        case applied(ChangeSet)
        /// Another uplinkctl held the namespace's lock and `apply` was not to wait: nothing was read or changed.
        case busy
        /// Preflight problems (a missing interface, a table or mark in use): nothing was touched.
        case refused([String])
        /// Reading or changing the kernel failed; every step made was undone.
        case kernelRefused(Error)
        case incompleteUndo(IncompleteUndo)
        /// The kernel holds the change, but the record of replaced sysctls could not be written.
        case appliedWithoutRecord(ChangeSet, Error)
    }

    public struct Reconciliation {
        /// About other programs' policy routing (RoutingNotice), whatever the outcome.
        public var notices: [RoutingNotice] = []
        public var outcome: Outcome
        /// With `confirm`, once applied: the revert that waits for `uplinkctl confirm`.
        public var pending: PendingClaim?
        /// Another process's pending revert that nobody waited for any more, carried out first.
        public var settled: Settlement?
    }

    /// `apply --confirm SECONDS` of the config at `config` (or run's reload of it).
    public struct ConfirmRequest {
        public var seconds: Int
        public var config: String
        /// `apply` or `reload`.
        public var kind: String

        public init(seconds: Int, config: String, kind: String = "apply") {
            self.seconds = seconds
            self.config = config
            self.kind = kind
        }
    }

    /// Under the namespace's lock, held only for this: one fresh reading, the preflight, then
    /// the difference made (make-before-break, undone on any refusal) and the record kept.
    /// `waiting`: see StateStore.lock (nil: `busy` rather than wait). With `confirm`, what was
    /// installed before is written down as a pending revert before anything changes. `source`:
    /// the config's path, kept with the plan for `status`.
    public func apply(
        _ config: Config, from source: String, waiting: (() -> Void)?,
        down: (KernelSnapshot) -> Set<String> = { _ in [] },
        downBackends: Set<String> = [], confirm: ConfirmRequest? = nil
    ) -> Reconciliation {
        do {
            try store.lock(waiting: waiting)
        } catch is LockBusy {
            return Reconciliation(outcome: .busy)
        } catch {
            return Reconciliation(outcome: .kernelRefused(error))
        }
        defer { store.unlock() }
        let reading: Reading
        var settled: Settlement?
        do {
            // Another process's change that waits for confirmation refuses this one; one that
            // nobody waits for any more is carried out first. `run` goes on reacting to its own.
            if let other = try store.pending(), other.revert.pid != getpid() {
                settled = try settleLocked()
                if case .awaiting(let revert) = settled {
                    return Reconciliation(outcome: .refused([Settlement.awaiting(revert).text]))
                }
            }
            reading = try read(config, down: down, downBackends: downBackends)
        } catch {
            return Reconciliation(outcome: .kernelRefused(error), settled: settled)
        }
        let routing = reading.snapshot.routing
        let notices = RoutingNotice.notices(
            config, foreignRules: routing.foreignRules, defaultRoutes: routing.foreignRoutes)
        let problems =
            Preflight.problems(
                config, interfaces: routing.links, foreignRules: routing.foreignRules,
                foreignRoutes: routing.foreignRoutes, down: reading.down)
            + Preflight.mptcpProblems(reading.desired?.mptcp, kernel: reading.snapshot.mptcp, ours: reading.live.mptcp)
        guard problems.isEmpty else {
            return Reconciliation(notices: notices, outcome: .refused(problems), settled: settled)
        }
        let changes = reading.changes
        let plan = reading.facts.map {
            AppliedPlan(config: source, appliedAt: Self.wallClock(), text: config.text.yaml, facts: $0)
        }
        guard !changes.isEmpty else {
            // Kept current for status (an apply of the same state from another file, a first run).
            if let plan, let desired = reading.desired, store.applied()?.matches(plan, plan: desired) != true {
                try? store.save(plan)
            }
            return Reconciliation(notices: notices, outcome: .inSync, settled: settled)
        }
        var pending: PendingClaim?
        if let confirm {
            do {
                pending = try store.claimPending(try pendingRevert(confirm, reading).get())
            } catch let problem as NotRestorable {
                return Reconciliation(notices: notices, outcome: .refused([problem.description]), settled: settled)
            } catch {
                return Reconciliation(notices: notices, outcome: .kernelRefused(error), settled: settled)
            }
        }
        do {
            // The originals are on disk before anything is written over them.
            try store.save(reading.record.including(changes))
            try kernel.apply(changes, over: reading.snapshot)
        } catch {
            // A step that could not be undone may still hold what was written: its original
            // stays recorded, so that flush can put it back.
            if !(error is IncompleteUndo) { try? store.save(reading.record) }
            if pending != nil { store.removePending() }
            let outcome: Outcome = (error as? IncompleteUndo).map(Outcome.incompleteUndo) ?? .kernelRefused(error)
            return Reconciliation(notices: notices, outcome: outcome, settled: settled)
        }
        do {
            try store.save(plan)
            try store.save(reading.record.updated(desired: reading.desired, changes: changes))
        } catch {
            return Reconciliation(
                notices: notices, outcome: .appliedWithoutRecord(changes, error), pending: pending,
                settled: settled)
        }
        return Reconciliation(notices: notices, outcome: .applied(changes), pending: pending, settled: settled)
    }

    private func pendingRevert(_ request: ConfirmRequest, _ reading: Reading) -> Result<PendingRevert, NotRestorable> {
        InstalledState.of(reading.live).map { previous in
            PendingRevert(
                pid: getpid(), kind: request.kind, config: request.config, appliedAt: Self.wallClock(),
                seconds: request.seconds, deadline: MonotonicClock.boot() + Double(request.seconds),
                previous: previous, record: reading.record, previousPlan: store.applied())
        }
    }

    static func wallClock() -> String {
        var now = time(nil)
        var parts = tm()
        localtime_r(&now, &parts)
        var buffer = [CChar](repeating: 0, count: 32)
        strftime(&buffer, buffer.count, "%Y-%m-%d %H:%M:%S", &parts)
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Removes everything ours and puts back the sysctls uplinkctl changed, under the lock.
    public func flush(waiting: (() -> Void)?) throws -> ChangeSet {
        try store.lock(waiting: waiting)
        defer { store.unlock() }
        let reading = try read(nil)
        let changes = reading.changes
        try kernel.apply(changes, over: reading.snapshot)
        try store.save(SysctlRecord())
        try store.save(nil as AppliedPlan?)
        return changes
    }
}
