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
        let (kernel, store) = try kernelOptions.open()
        do {
            let desired = Planner.plan(loaded, addresses: try planFacts(kernel))
            let (live, record) = try liveState(kernel, store, desired: desired)
            let counters = try kernel.counters()
            let report = StatusReport(desired: desired, live: live, record: record, interfaces: kernel.routing.links,
                                      counters: counters.mapValues { StatusReport.Count(packets: $0.packets, bytes: $0.bytes) })
            print(json ? report.json : report.text, terminator: "")
        } catch {
            printError("uplinkctl: \(error)")
            throw ExitStatus.kernelRefused
        }
    }
}
