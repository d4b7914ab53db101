import ArgumentParser
import Foundation
import UplinkCore
import UplinkKernel

struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "Show what is installed and what each uplink carried.")

    @OptionGroup var config: ConfigArgument
    @OptionGroup var kernelOptions: KernelOptions

    @Flag(help: "Print JSON for scripts.")
    var json = false

    func run() throws {
        let loaded = try config.load()
        let reconciler = try kernelOptions.open(pending: .mention)
        do {
            let reading = try reconciler.read(loaded)
            let counters = try reconciler.kernel.counters()
            let report = StatusReport(desired: reading.desired!, live: reading.live, record: reading.record,
                                      interfaces: reading.snapshot.links,
                                      counters: counters.mapValues { StatusReport.Count(packets: $0.packets, bytes: $0.bytes) },
                                      run: reconciler.store.runState())
            print(json ? report.json : report.text, terminator: "")
        } catch {
            printError("uplinkctl: \(error)")
            throw ExitStatus.kernelRefused
        }
    }
}
