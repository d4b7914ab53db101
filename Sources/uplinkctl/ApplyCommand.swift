import ArgumentParser
import UplinkCore
import UplinkKernel

extension DryRunFormat: ExpressibleByArgument {}

struct ApplyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apply",
        abstract: "Install the config's policy routing and balancing.",
        discussion: """
            Reads what uplinkctl has installed, and changes only the difference: routes and ip rules \
            over rtnetlink (new before old, every step undone if a later one fails), the nft table in \
            one transaction. Re-applying the same config changes nothing.

            With --dry-run, prints a POSIX sh script of the equivalent commands instead and needs no \
            root and no kernel: iptables form by default, or nft with --format nft.

            With --confirm SECONDS, what was installed before is written down first, then the change \
            is made and kept only if `uplinkctl confirm` runs (from another shell or ssh connection; \
            or Enter on this terminal) within SECONDS. Otherwise, or on Ctrl-C, the routes, rules, \
            nft table and sysctls go back exactly as they were. A lost terminal does not stop the \
            countdown; if this process is killed, the next uplinkctl command puts the old state back.

            Exit status: 0 applied (or already in sync; with --confirm: and confirmed), 1 refused by a \
            check or by the kernel, or not confirmed (nothing changed), 3 refused by the kernel and a \
            step already made could not be undone (named), 64 usage, 65 invalid config, 66 config missing.
            """
    )

    @OptionGroup var config: ConfigArgument
    @OptionGroup var kernelOptions: KernelOptions

    @Flag(help: "Print the equivalent shell script instead of changing the kernel.")
    var dryRun = false

    @Option(help: "The dry-run's language: iptables or nft.")
    var format: DryRunFormat = .iptables

    @Option(
        help: ArgumentHelp(
            "Keep the change only if `uplinkctl confirm` (or Enter) comes within SECONDS.",
            valueName: "seconds"))
    var confirm: Int?

    func validate() throws {
        if let confirm, !(1...86_400).contains(confirm) {
            throw ValidationError("--confirm takes 1 to 86400 seconds, such as --confirm 60")
        }
        if confirm != nil && dryRun { throw ValidationError("--confirm and --dry-run do not go together") }
    }

    func run() throws {
        let loaded = try config.load()
        if dryRun {
            let facts = kernelOptions.factsForDryRun(loaded) ?? PlanFacts()
            print(DryRun.script(Planner.plan(loaded, facts: facts), format: format), terminator: "")
            return
        }
        let reconciler = try kernelOptions.open(pending: .refuse)
        if let pid = reconciler.store.runningProcess() {
            let config = reconciler.store.runState()?.config ?? "its config"
            printError(
                "uplinkctl: uplinkctl run (pid \(pid)) manages this namespace; to change what it installs, "
                    + "edit \(config) and reload it: kill -HUP \(pid) (or systemctl reload uplinkctl); "
                    + "nothing was changed")
            throw ExitStatus.kernelRefused
        }
        // Signals are answers from here on: taken over before anything changes.
        let wait = try confirm.map { _ in try ConfirmationWait() }
        let request = confirm.map { Reconciler.ConfirmRequest(seconds: $0, config: config.path) }
        let result = reconciler.apply(loaded, from: config.path, waiting: KernelOptions.waiting, confirm: request)
        if let settled = result.settled { printError("uplinkctl: \(settled.text)") }
        kernelOptions.printNotices(result.notices)
        // Applied, with or without its record: the change waits for confirmation.
        if let wait, let pending = result.pending {
            if case .appliedWithoutRecord(_, let error) = result.outcome {
                printError("uplinkctl: applied, but the sysctl record could not be written: \(error)")
            }
            if case .applied(let changes) = result.outcome { Self.printChanges(changes) }
            try ConfirmationPrompt(wait: wait).await(pending, reconciler)
            return
        }
        switch result.outcome {
        case .inSync:
            print(
                "uplinkctl: in sync with \(config.path); nothing changed"
                    + (confirm == nil ? "" : ", nothing to confirm"))
        case .applied(let changes):
            Self.printChanges(changes)
        case .busy:
            printError("uplinkctl: \(LockBusy()); nothing was changed")
            throw ExitStatus.kernelRefused
        case .refused(let problems):
            for problem in problems { printError("uplinkctl: \(problem)") }
            printError("uplinkctl: nothing was changed")
            throw ExitStatus.kernelRefused
        case .kernelRefused(let error):
            printError("uplinkctl: \(error); nothing was changed")
            throw ExitStatus.kernelRefused
        case .incompleteUndo(let error):
            printError("uplinkctl: \(error)")
            throw ExitStatus.incompleteUndo
        case .appliedWithoutRecord(let changes, let error):
            Self.printChanges(changes)
            printError("uplinkctl: applied, but the sysctl record could not be written: \(error)")
            throw ExitStatus.kernelRefused
        }
    }

    static func printChanges(_ changes: ChangeSet) {
        let lines = changes.lines
        print(lines.joined(separator: "\n"))
        print("uplinkctl: applied \(lines.count) change\(lines.count == 1 ? "" : "s")")
    }
}
