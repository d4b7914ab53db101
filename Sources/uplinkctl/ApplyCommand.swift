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

        Exit status: 0 applied (or already in sync), 1 refused by a check or by the kernel (nothing \
        changed), 64 usage, 65 invalid config, 66 config missing.
        """
    )

    @OptionGroup var config: ConfigArgument
    @OptionGroup var kernelOptions: KernelOptions

    @Flag(help: "Print the equivalent shell script instead of changing the kernel.")
    var dryRun = false

    @Option(help: "The dry-run's language: iptables or nft.")
    var format: DryRunFormat = .iptables

    func run() throws {
        let loaded = try config.load()
        if dryRun {
            let addresses = kernelOptions.addressesForDryRun() ?? LinkAddresses()
            print(DryRun.script(Planner.plan(loaded, addresses: addresses), format: format), terminator: "")
            return
        }
        let (kernel, store) = try kernelOptions.open()
        do {
            let desired = Planner.plan(loaded, addresses: try planFacts(kernel))
            let (live, record) = try liveState(kernel, store, desired: desired)
            let routing = try kernel.routingState()
            kernelOptions.printNotices(RoutingNotice.notices(loaded, foreignRules: routing.foreignRules,
                                                             defaultRoutes: routing.foreignRoutes))
            let problems = Preflight.problems(loaded, interfaces: kernel.routing.links,
                                              foreignRules: routing.foreignRules, foreignRoutes: routing.foreignRoutes)
            guard problems.isEmpty else {
                for problem in problems { printError("uplinkctl: \(problem)") }
                printError("uplinkctl: nothing was changed")
                throw ExitStatus.kernelRefused
            }
            let changes = StateDiff.changes(from: live, to: desired, record: record)
            guard !changes.isEmpty else {
                print("uplinkctl: in sync with \(config.path); nothing changed")
                return
            }
            try store.save(record.including(changes.sysctls))
            do {
                try kernel.apply(changes, nftBefore: live.nftables)
            } catch {
                try? store.save(record)
                throw error
            }
            let lines = changes.lines
            print(lines.joined(separator: "\n"))
            print("uplinkctl: applied \(lines.count) change\(lines.count == 1 ? "" : "s")")
            do {
                try store.save(record.updated(desired: desired.sysctls, changes: changes.sysctls))
            } catch {
                printError("uplinkctl: applied, but the sysctl record could not be written: \(error)")
                throw ExitStatus.kernelRefused
            }
        } catch let error as ExitCode {
            throw error
        } catch let error as IncompleteUndo {
            printError("uplinkctl: \(error)")
            throw ExitStatus.kernelRefused
        } catch {
            printError("uplinkctl: \(error); nothing was changed")
            throw ExitStatus.kernelRefused
        }
    }
}
