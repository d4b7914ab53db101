import ArgumentParser
import Glibc
import UplinkKernel

/// The countdown of `apply --confirm` and how it ends, told on the terminal.
struct ConfirmationPrompt {
    let wait: ConfirmationWait
    private let onTerminal = isatty(STDERR_FILENO) == 1
    /// Enter confirms only on a terminal this process has in the foreground (a background job
    /// reading it would be stopped).
    private let enterConfirms = isatty(STDIN_FILENO) == 1 && tcgetpgrp(STDIN_FILENO) == getpgrp()

    init(wait: ConfirmationWait) {
        self.wait = wait
    }

    /// Returns once confirmed; throws exit status 1 once the old state is back.
    func await(_ pending: PendingClaim, _ reconciler: Reconciler) throws {
        var terminal = onTerminal
        let how = enterConfirms ? "Enter here or `uplinkctl confirm`" : "`uplinkctl confirm`"
        // What was typed before the question is no answer to it.
        if enterConfirms { tcflush(STDIN_FILENO, TCIFLUSH) }
        if !terminal {
            printError(
                "uplinkctl: waiting \(pending.revert.seconds) s for \(how) (pid \(pending.revert.pid)); "
                    + "without it, what was installed before is put back")
        }
        let end = wait.wait(
            for: pending, input: enterConfirms ? STDIN_FILENO : nil,
            tick: { left in
                guard terminal else { return }
                printError(
                    "\r\u{1B}[Kuplinkctl: \(left) s to keep this: \(how); Ctrl-C puts back what was there",
                    newline: false)
            }, hungUp: { terminal = false })
        if terminal { printError("") }
        let settlement: Settlement
        do {
            switch end {
            case .enter:
                settlement = try reconciler.settle(pending, confirmed: true, why: "", waiting: {})
            case .settledElsewhere:
                settlement = Settlement.byAnother(pending.revert)
            case .expired:
                let why = "no confirmation within \(pending.revert.seconds) s"
                settlement = try reconciler.settle(pending, confirmed: false, why: why, waiting: {})
            case .interrupted(let signal):
                let why = signal == SIGINT ? "Ctrl-C" : "SIGTERM"
                settlement = try reconciler.settle(pending, confirmed: false, why: why, waiting: {})
            }
        } catch {
            printError("uplinkctl: \(error)")
            throw ExitStatus.kernelRefused
        }
        if case .confirmed = settlement, end == .settledElsewhere {
            printError("uplinkctl: confirmed by `uplinkctl confirm`; it stays")
        } else {
            printError("uplinkctl: \(settlement.text)")
        }
        if !settlement.kept { throw ExitStatus.kernelRefused }
    }
}
