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

/// Steps of one apply made so far, with how to undo each.
struct Transaction {
    private var undos: [Undo] = []

    /// `undoEvenIfUncertain`: when the step cannot tell whether it took effect, undo it anyway
    /// (the nft undo rebuilds the old table, which is right either way).
    mutating func step(_ make: () throws -> Void, undoEvenIfUncertain: Bool = false, undo: Undo) throws {
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
        if try make() { undos.append(undo) }
    }

    /// Undoes every step, newest first, going on past a failure; returns how many were undone,
    /// and each that was not, named as the command that would have undone it, with the kernel's
    /// reason.
    func rollBack() -> (undone: Int, failures: [String]) {
        var failures: [String] = []
        for undo in undos.reversed() {
            do {
                try undo.run()
            } catch let refusal as KernelRefusal {
                let reason = KernelRefusal(object: undo.object, errno: refusal.errno, detail: refusal.detail)
                failures.append(reason.description)
            } catch {
                failures.append("\(undo.object): \(error)")
            }
        }
        return (undos.count - failures.count, failures)
    }
}
