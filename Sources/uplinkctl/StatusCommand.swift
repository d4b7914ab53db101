import ArgumentParser
import Foundation
import UplinkCore
import UplinkKernel

struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show what is installed and what each uplink carried.",
        discussion: """
        Compares the kernel with the config. When the config is missing or invalid, or when it \\
        is not what is installed, shows what the last apply installed instead (as long as the \\
        kernel still holds exactly that), and says so. Exit status: 0, or 1 when the kernel \\
        cannot be read.
        """
    )

    @OptionGroup var config: ConfigArgument
    @OptionGroup var kernelOptions: KernelOptions

    @Flag(help: "Print JSON for scripts.")
    var json = false

    func run() throws {
        let loaded = config.loadIfValid(else: "showing what is installed")
        let reconciler = try kernelOptions.open(pending: .mention)
        do {
            let reading = try reconciler.read(loaded)
            let (plan, source) = Self.described(reading, given: loaded.map { _ in config.path }, applied: reconciler.store.applied())
            let counters = try reconciler.kernel.counters()
            let report = StatusReport(desired: plan, live: reading.live, record: reading.record,
                                      interfaces: reading.snapshot.links,
                                      counters: counters.mapValues { StatusReport.Count(packets: $0.packets, bytes: $0.bytes) },
                                      run: reconciler.store.runState(), source: source)
            print(json ? report.json : report.text, terminator: "")
        } catch {
            printError("uplinkctl: \(error)")
            throw ExitStatus.kernelRefused
        }
    }

    /// The config's plan when it is what is installed (or nothing else is known); otherwise the
    /// last apply's plan, if the kernel still holds exactly that.
    static func described(_ reading: Reconciler.Reading, given: String?,
                          applied: AppliedPlan?) -> (DesiredState, StatusReport.Source) {
        let installed = applied.flatMap { StateDiff.changes(from: reading.live, to: $0.plan, record: reading.record).isEmpty ? $0 : nil }
        if let desired = reading.desired, let given, reading.changes.isEmpty || installed == nil {
            return (desired, .config(given))
        }
        if let installed {
            return (installed.plan, .lastApply(installed, given: given, differences: reading.changes.lines.count))
        }
        let empty = DesiredState(uplinks: [], rules: [], routes: [], nftables: NftTable(), sysctls: [])
        return (empty, .kernel)
    }
}
