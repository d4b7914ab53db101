import ArgumentParser
import UplinkKernel

struct ConfirmCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "confirm",
        abstract: "Keep the change of an `apply --confirm` that waits.",
        discussion: """
            Run from another shell or ssh connection while `uplinkctl apply --confirm SECONDS` counts \\
            down: the change stays. After the deadline it is too late: the old state goes back (if \\
            that apply was killed, this command puts it back). Exit status: 0 confirmed, 1 nothing \\
            waits for confirmation, or too late.
            """
    )

    @OptionGroup var kernelOptions: KernelOptions

    func run() throws {
        let reconciler = try kernelOptions.open(pending: .leave)
        let settlement: Settlement?
        do {
            settlement = try reconciler.confirmPending(waiting: KernelOptions.waiting)
        } catch {
            printError("uplinkctl: \(error)")
            throw ExitStatus.kernelRefused
        }
        switch settlement {
        case nil:
            printError("uplinkctl: nothing awaits confirmation")
            throw ExitStatus.kernelRefused
        case .confirmed(let pending)?:
            print("uplinkctl: \(Settlement.confirmed(pending).text)")
        case .awaiting(let pending)?:
            printError("uplinkctl: too late: \(pending.summary) is being put back by its own uplinkctl")
            throw ExitStatus.kernelRefused
        case let other?:
            printError("uplinkctl: too late: \(other.text)")
            throw ExitStatus.kernelRefused
        }
    }
}
