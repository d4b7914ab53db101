import Foundation
import UplinkCore

/// What became of a pending revert (an apply waiting for `uplinkctl confirm`).
public enum Settlement {
    /// Its apply still waits.
    case awaiting(PendingRevert)
    case confirmed(PendingRevert)
    /// What was installed before is back.
    case reverted(PendingRevert, ChangeSet, why: String)
    /// The kernel refused to go back (every step of the attempt undone); the revert was set aside.
    case revertFailed(PendingRevert, Error, keptAt: String)

    /// One line for people.
    public var text: String {
        switch self {
        case .awaiting(let pending):
            let left = max(0, Int((pending.deadline - BootClock.now()).rounded(.up)))
            return "\(pending.summary) awaits confirmation for \(left) s more: `uplinkctl confirm` keeps it"
        case .confirmed(let pending):
            return "confirmed \(pending.summary); it stays"
        case .reverted(let pending, let changes, let why):
            return "\(pending.summary) was not confirmed (\(why)); what was installed before is back "
                + "(\(changes.lines.count) change\(changes.lines.count == 1 ? "" : "s"))"
        case .revertFailed(let pending, let error, let kept):
            return "\(pending.summary) was not confirmed, but what was installed before could not be put back: \(error); "
                + "what is installed now stays (the state it should have gone back to is in \(kept))"
        }
    }
}

extension Reconciler {
    /// Run by every command before it reads or changes the kernel: a pending revert whose
    /// apply is gone (killed, or its deadline long past) is carried out now. Nil: none pending.
    public func settlePending(waiting: (() -> Void)?) throws -> Settlement? {
        guard try store.pending() != nil else { return nil }
        try store.lock(waiting: waiting)
        defer { store.unlock() }
        guard let (pending, ownerAlive) = try store.pending() else { return nil }
        // Past the deadline with a grace for the owner's own revert: someone has to do it.
        let overdue = BootClock.now() > pending.deadline + 5
        guard !ownerAlive || overdue else { return .awaiting(pending) }
        return carryOut(pending, why: ownerAlive ? "its deadline passed" : "its uplinkctl ended before")
    }

    /// `uplinkctl confirm`: the pending apply stays, when its time has not run out.
    public func confirmPending(waiting: (() -> Void)?) throws -> Settlement? {
        try store.lock(waiting: waiting)
        defer { store.unlock() }
        guard let (pending, ownerAlive) = try store.pending() else { return nil }
        guard BootClock.now() <= pending.deadline else {
            // Too late: its own apply puts the old state back, or, if it is gone, this does.
            return ownerAlive ? .awaiting(pending) : carryOut(pending, why: "confirmed too late")
        }
        store.removePending()
        return .confirmed(pending)
    }

    /// The waiting apply's own end: confirmed on its terminal, or reverted (deadline, Ctrl-C).
    public func settle(_ claim: PendingClaim, confirmed: Bool, why: String) throws -> Settlement? {
        try store.lock(waiting: {})
        defer { store.unlock() }
        // Confirmed or reverted by another uplinkctl meanwhile.
        guard claim.isPending else { return nil }
        defer { claim.release() }
        guard !confirmed else {
            store.removePending()
            return .confirmed(claim.revert)
        }
        return carryOut(claim.revert, why: why)
    }

    /// Removes `claim`'s pending revert without carrying it out (`run` goes back by planning
    /// its previous config instead).
    public func withdraw(_ claim: PendingClaim) throws {
        try store.lock(waiting: {})
        defer { store.unlock() }
        if claim.isPending { store.removePending() }
        claim.release()
    }

    /// Under the lock: puts `pending.previous` back (make-before-break, undone on refusal) with
    /// its sysctl record, and removes the pending revert.
    private func carryOut(_ pending: PendingRevert, why: String) -> Settlement {
        do {
            let snapshot = try kernel.snapshot()
            let record = try store.record()
            let live = try kernel.live(snapshot, sysctls: pending.previous.sysctls.map(\.path) + record.entries.map(\.path))
            let changes = StateDiff.restoration(of: pending.previous, over: live)
            try kernel.apply(changes, over: snapshot)
            try store.save(pending.record)
            try store.save(pending.previousPlan)
            store.removePending()
            return .reverted(pending, changes, why: why)
        } catch {
            return .revertFailed(pending, error, keptAt: store.setAsideFailedRevert())
        }
    }
}
