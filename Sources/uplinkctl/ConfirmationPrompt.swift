import ArgumentParser
import Glibc
import UplinkKernel

/// The countdown of `apply --confirm` and how it ends, told on the terminal.
struct ConfirmationPrompt {
    let wait: ConfirmationWait
    private let onTerminal = isatty(STDERR_FILENO) == 1
    private let enterConfirms = isatty(STDIN_FILENO) == 1

    init(wait: ConfirmationWait) {
        self.wait = wait
    }

    /// Returns once confirmed; throws exit status 1 once the old state is back.
    func await(_ pending: PendingClaim, _ reconciler: Reconciler) throws {
        var terminal = onTerminal
        let how = enterConfirms ? "Enter here or `uplinkctl confirm`" : "`uplinkctl confirm`"
        if !terminal {
            printError("uplinkctl: waiting \(pending.revert.seconds) s for \(how) (pid \(pending.revert.pid)); "
                       + "without it, what was installed before is put back")
        }
        let end = wait.wait(for: pending, input: enterConfirms ? STDIN_FILENO : nil, tick: { left in
            guard terminal else { return }
            printError("\r\u{1B}[Kuplinkctl: \(left) s to keep this: \(how); Ctrl-C puts back what was there", newline: false)
        }, hungUp: { terminal = false })
        if terminal { printError("") }
        let settlement: Settlement?
        do {
            switch end {
            case .enter:
                settlement = try reconciler.settle(pending, confirmed: true, why: "")
            case .confirmedElsewhere:
                settlement = nil
            case .expired:
                settlement = try reconciler.settle(pending, confirmed: false, why: "no confirmation within \(pending.revert.seconds) s")
            case .interrupted(let signal):
                settlement = try reconciler.settle(pending, confirmed: false, why: signal == SIGINT ? "Ctrl-C" : "SIGTERM")
            }
        } catch {
            printError("uplinkctl: \(error)")
            throw ExitStatus.kernelRefused
        }
        switch settlement {
        case nil:
            let confirmed = BootClock.now() <= pending.revert.deadline
            printError("uplinkctl: " + (confirmed ? "confirmed by `uplinkctl confirm`; it stays" : "settled by another uplinkctl; see `uplinkctl status`"))
        case .confirmed(let revert)?:
            printError("uplinkctl: \(Settlement.confirmed(revert).text)")
        case let other?:
            printError("uplinkctl: \(other.text)")
            throw ExitStatus.kernelRefused
        }
    }
}
