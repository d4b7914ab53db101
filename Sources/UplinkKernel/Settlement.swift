import Foundation
import UplinkCore

/// What became of a pending revert (an apply, or run's reload, waiting for `uplinkctl confirm`).
public enum Settlement {
    /// Its apply still waits.
    case awaiting(PendingRevert)
    case confirmed(PendingRevert)
    /// What was installed before is back; `problem`: its records could not be written.
    case reverted(PendingRevert, ChangeSet, why: String, problem: String?)
    /// The kernel refused to go back (every step of the attempt undone); the revert was set aside.
    case revertFailed(PendingRevert, Error, keptAt: String)
    /// It could not be tried (no permission): it stays pending for the next command.
    case revertDeferred(PendingRevert, Error)
    /// Long past its deadline, another uplinkctl carried it out.
    case settledElsewhere(PendingRevert)

    /// Seconds past the deadline after which anyone carries out a revert whose owner still
    /// lives (stopped, or stuck): its own revert comes first.
    static let overdue = 5.0

    /// A pending revert removed by another uplinkctl while its owner lived: `confirm` does so
    /// only before the deadline, another command's revert only once it is overdue.
    public static func byAnother(_ pending: PendingRevert) -> Settlement {
        MonotonicClock.boot() <= pending.deadline + overdue ? .confirmed(pending) : .settledElsewhere(pending)
    }

    /// One line for people.
    public var text: String {
        switch self {
        case .awaiting(let pending):
            let left = max(0, Int((pending.deadline - MonotonicClock.boot()).rounded(.up)))
            return "\(pending.summary) awaits confirmation for \(left) s more: `uplinkctl confirm` keeps it"
        case .confirmed(let pending):
            return "confirmed \(pending.summary); it stays"
        case .reverted(let pending, let changes, let why, let problem):
            let count = changes.lines.count
            return "\(pending.summary) was not confirmed (\(why)); what was installed before is back "
                + "(\(count) change\(count == 1 ? "" : "s"))" + (problem.map { "; but \($0)" } ?? "")
        case .revertFailed(let pending, let error, let kept):
            return "\(pending.summary) was not confirmed, but what was installed before could not be put back: "
                + "\(error); what is installed now stays (the state it should have gone back to is in \(kept))"
        case .revertDeferred(let pending, let error):
            return "\(pending.summary) was not confirmed, and this uplinkctl cannot put back what was there: \(error); "
                + "it stays pending for the next uplinkctl run as root"
        case .settledElsewhere(let pending):
            return "\(pending.summary) was settled by another uplinkctl after its deadline "
                + "(uplinkctl status shows what is installed)"
        }
    }

    /// Whether the change it was about stays.
    public var kept: Bool {
        if case .confirmed = self { return true }
        return false
    }
}

extension Reconciler {
    /// Run by every command before it reads or changes the kernel: a pending revert whose
    /// apply is gone (killed, or its deadline long past) is carried out now. Nil: none pending.
    public func settlePending(waiting: (() -> Void)?) throws -> Settlement? {
        guard store.hasPending else { return nil }
        try store.lock(waiting: waiting)
        defer { store.unlock() }
        return try settleLocked()
    }

    /// Under the lock: carries out a pending revert that nobody waits for any more.
    func settleLocked() throws -> Settlement? {
        guard let (pending, ownerAlive) = try store.pending() else { return nil }
        let overdue = MonotonicClock.boot() > pending.deadline + Settlement.overdue
        guard !ownerAlive || overdue else { return .awaiting(pending) }
        return carryOut(pending, why: ownerAlive ? "its deadline passed" : "its uplinkctl ended before")
    }

    /// `uplinkctl confirm`: the pending apply stays, when its time has not run out.
    public func confirmPending(waiting: (() -> Void)?) throws -> Settlement? {
        try store.lock(waiting: waiting)
        defer { store.unlock() }
        guard let (pending, ownerAlive) = try store.pending() else { return nil }
        guard MonotonicClock.boot() <= pending.deadline else {
            // Too late: its own apply puts the old state back, or, if it is gone, this does.
            return ownerAlive ? .awaiting(pending) : carryOut(pending, why: "confirmed too late")
        }
        store.removePending()
        return .confirmed(pending)
    }

    /// The waiting apply's (or reload's) own end: confirmed on its terminal, or reverted
    /// (deadline, Ctrl-C, SIGTERM). `waiting`: see StateStore.lock (nil: LockBusy rather than
    /// wait, for `run`).
    public func settle(
        _ claim: PendingClaim, confirmed: Bool, why: String,
        waiting: (() -> Void)?
    ) throws -> Settlement {
        try store.lock(waiting: waiting)
        defer { store.unlock() }
        defer { claim.release() }
        guard claim.isPending else { return Settlement.byAnother(claim.revert) }
        guard !confirmed else {
            store.removePending()
            return .confirmed(claim.revert)
        }
        return carryOut(claim.revert, why: why)
    }

    /// Under the lock: puts `pending.previous` back (make-before-break, undone on refusal) with
    /// its sysctl record and plan, and removes the pending revert.
    private func carryOut(_ pending: PendingRevert, why: String) -> Settlement {
        let changes: ChangeSet
        do {
            let snapshot = try kernel.snapshot()
            let record = try store.record()
            let live = try kernel.live(
                snapshot,
                sysctls: pending.previous.sysctls.map(\.path) + record.entries.map(\.path),
                record: record)
            changes = StateDiff.restoration(of: pending.previous, over: live)
            try kernel.apply(changes, over: snapshot)
        } catch let refusal as KernelRefusal where refusal.errno == EPERM || refusal.errno == EACCES {
            return .revertDeferred(pending, refusal)
        } catch {
            return .revertFailed(pending, error, keptAt: store.setAsideFailedRevert())
        }
        store.removePending()
        do {
            try store.save(pending.record)
            try store.save(pending.previousPlan)
        } catch {
            return .reverted(pending, changes, why: why, problem: "its records could not be written: \(error)")
        }
        return .reverted(pending, changes, why: why, problem: nil)
    }
}
