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
            // The last apply's plan, compared with the kernel on its own sysctls (read only when needed).
            let applied = {
                try reconciler.store.applied().flatMap { applied in
                    try applied.plan.map { plan in
                        let live = try reconciler.kernel.live(reading.snapshot, desired: plan, record: reading.record)
                        return (applied, plan, live)
                    }
                }
            }
            let (plan, live, source) = try Self.described(
                reading, given: loaded.map { _ in config.path }, applied: applied)
            let counters = try reconciler.kernel.counters().mapValues {
                StatusReport.Count(packets: $0.packets, bytes: $0.bytes)
            }
            let mptcp = try plan.mptcp == nil ? nil : reconciler.kernel.mptcpConnections()
            let report = StatusReport(
                desired: plan, live: live, record: reading.record,
                interfaces: reading.snapshot.links, counters: counters,
                run: reconciler.store.runState(), source: source,
                mptcp: mptcp.map {
                    StatusReport.MptcpCount(
                        connections: $0.connections,
                        subflowSources: $0.subflowSources)
                })
            print(json ? report.json : report.text, terminator: "")
        } catch {
            printError("uplinkctl: \(error)")
            throw ExitStatus.kernelRefused
        }
    }

    /// The config's plan when it is what is installed (or nothing else is known); otherwise the
    /// last apply's plan, if the kernel still holds exactly that.
    static func described(
        _ reading: Reconciler.Reading, given: String?,
        applied: () throws -> (AppliedPlan, DesiredState, LiveState)?
    )
        throws -> (DesiredState, LiveState, StatusReport.Source)
    {
        let changes = reading.changes
        if let desired = reading.desired, let given, changes.isEmpty {
            return (desired, reading.live, .config(given))
        }
        let installed = try applied().flatMap { applied, plan, live in
            StateDiff.changes(from: live, to: plan, record: reading.record).isEmpty ? (applied, plan, live) : nil
        }
        if let desired = reading.desired, let given, installed == nil {
            return (desired, reading.live, .config(given))
        }
        if let (applied, plan, live) = installed {
            return (plan, live, .lastApply(applied, given: given, differences: changes.lines.count))
        }
        let empty = DesiredState(uplinks: [], rules: [], routes: [], nftables: NftTable(), sysctls: [])
        return (empty, reading.live, .kernel)
    }
}
