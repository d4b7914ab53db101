import UplinkCore

/// How to undo one step of an apply, named as the command that would do it: what a report
/// says when it could not be undone.
struct Undo {
    let object: String
    let run: () throws -> Void

    init(_ command: [String], _ run: @escaping () throws -> Void) {
        self.init(object: shellCommand(command), run)
    }

    init(object: String, _ run: @escaping () throws -> Void) {
        self.object = object
        self.run = run
    }
}

/// Steps of one apply made so far, with how to undo each. `faultAt` and `faultUndoAt` are the
/// tests' injected refusals (see Kernel): the step, and the undo of the roll-back, refused.
struct Transaction {
    let faultAt: Int?
    let faultUndoAt: Int?
    let routing: RoutingKernel
    private var undos: [Undo] = []
    private var count = 0

    init(faultAt: Int?, faultUndoAt: Int?, routing: RoutingKernel) {
        self.faultAt = faultAt
        self.faultUndoAt = faultUndoAt
        self.routing = routing
    }

    /// `undoEvenIfUncertain`: when the step cannot tell whether it took effect, undo it anyway
    /// (the nft undo rebuilds the old table, which is right either way).
    mutating func step(_ make: () throws -> Void, undoEvenIfUncertain: Bool = false, undo: Undo) throws {
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
    mutating func step(ifChanged make: () throws -> Bool, undo: Undo) throws {
        count += 1
        if count == faultAt { try routing.sendRefusedRequest() }
        if try make() { undos.append(undo) }
    }

    /// Undoes every step, newest first, going on past a failure; returns how many were undone,
    /// and each that was not, named with the kernel's reason.
    func rollBack() -> (undone: Int, failures: [String]) {
        var failures: [String] = []
        for (index, undo) in undos.reversed().enumerated() {
            do {
                if index + 1 == faultUndoAt { try refuse(undo) }
                try undo.run()
            } catch let refusal as KernelRefusal where refusal.object == undo.object {
                failures.append(refusal.description)
            } catch {
                failures.append("\(undo.object): \(error)")
            }
        }
        return (undos.count - failures.count, failures)
    }

    /// The injected refusal of an undo: the kernel's answer to a request it refuses, given as
    /// the undo's own.
    private func refuse(_ undo: Undo) throws {
        do {
            try routing.sendRefusedRequest()
        } catch let refusal as KernelRefusal {
            throw KernelRefusal(
                object: undo.object, errno: refusal.errno, detail: "refusal injected by UPLINKCTL_FAULT_UNDO_AT")
        }
    }
}
