import ArgumentParser
import Foundation
import UplinkCore
import UplinkKernel

/// `--netns`, shared by the commands that talk to the kernel.
struct KernelOptions: ParsableArguments {
    @Option(
        name: .customLong("netns"),
        help: ArgumentHelp("Act inside the network namespace /run/netns/NAME, as `ip -n NAME` does.", valueName: "name")
    )
    var namespace: String?

    /// What a command does about an apply that waits for `uplinkctl confirm`.
    enum Pending {
        /// Diff and status: say so and go on.
        case mention
        /// Apply, flush and run: refuse while it waits.
        case refuse
        /// Confirm: leave it to the command.
        case leave
    }

    /// The namespace's workflows: its kernel and uplinkctl's files for it. Nothing is read or
    /// locked yet; each workflow reads the kernel afresh and locks only while it changes it.
    /// First, a pending revert whose apply is gone is carried out (see Reconciler.settlePending).
    func open(pending: Pending) throws -> Reconciler {
        let reconciler: Reconciler
        do {
            try Self.checkKernelVersion()
            // The whole command runs inside the namespace (uplinkctl is single-threaded).
            if let namespace { try NetworkNamespace.enter(namespace) }
            // The lab's tests refuse a chosen change through UPLINKCTL_FAULT_AT (see FaultInjection).
            let handle = try KernelHandle.namespace(nil).injectingFaults(from: ProcessInfo.processInfo.environment)
            reconciler = Reconciler(kernel: try Kernel(handle), store: try StateStore(namespace: namespace))
            if pending != .leave, let settlement = try reconciler.settlePending(waiting: Self.waiting) {
                printError("uplinkctl: \(settlement.text)")
                if case .awaiting = settlement, pending == .refuse {
                    printError("uplinkctl: confirm it or let it go back first; nothing was changed")
                    throw ExitStatus.kernelRefused
                }
            }
        } catch let status as ExitCode {
            throw status
        } catch {
            printError("uplinkctl: \(error)")
            throw ExitStatus.kernelRefused
        }
        return reconciler
    }

    /// Said while another uplinkctl holds the namespace's lock.
    static func waiting() { printError("uplinkctl: waiting for another uplinkctl working on this namespace…") }

    /// The plan's kernel facts for a dry-run, as apply reads them (the uplinks' addresses, the
    /// main table's default routes, the config's interfaces that are missing): read only, no
    /// lock. Nil (and the reason on stderr) when they cannot be read.
    func factsForDryRun(_ config: Config) -> PlanFacts? {
        do {
            if let namespace { try NetworkNamespace.enter(namespace) }
            return try RoutingKernel(namespace: nil).snapshot().facts(config)
        } catch {
            printError(
                "uplinkctl: the interfaces' addresses could not be read "
                    + "(\(error)); the script has no `from ADDRESS` rules"
            )
            return nil
        }
    }

    /// Other programs' ip rules, for check: read only, no lock. Nil (and the reason on stderr)
    /// when they cannot be read.
    func foreignRulesForCheck() -> [ForeignRule]? {
        do {
            if let namespace { try NetworkNamespace.enter(namespace) }
            return try RoutingKernel(namespace: nil).foreignRules()
        } catch {
            printError(
                "uplinkctl: note (\(place)): the ip rules could not be read "
                    + "(\(error)); nothing is said about other policy routing"
            )
            return nil
        }
    }

    /// The kernel a note was read from, as the notes name it.
    private var place: String { namespace.map { "namespace \($0)" } ?? "this host" }

    /// Notes and warnings about other policy routing, each naming the kernel it was read from,
    /// so that a config checked away from its router is not mistaken for the router's.
    func printNotices(_ notices: [RoutingNotice]) {
        for notice in notices { printError("uplinkctl: \(notice.level.rawValue) (\(place)): \(notice.text)") }
    }

    /// nf_tables `inet` nat chains need Linux 5.2; numgen, fib and named counters are older.
    static let minimumKernel = (5, 2)

    static func checkKernelVersion() throws {
        var name = utsname()
        uname(&name)
        let release = withUnsafeBytes(of: &name.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let numbers = release.split(whereSeparator: { !$0.isNumber }).prefix(2).compactMap { Int($0) }
        guard numbers.count == 2, (numbers[0], numbers[1]) >= minimumKernel else {
            throw UnsupportedKernel(release: release)
        }
    }
}

struct UnsupportedKernel: Error, CustomStringConvertible {
    let release: String
    var description: String {
        "Linux \(release) is too old: uplinkctl needs "
            + "\(KernelOptions.minimumKernel.0).\(KernelOptions.minimumKernel.1) or later (nf_tables inet nat chains)"
    }
}
