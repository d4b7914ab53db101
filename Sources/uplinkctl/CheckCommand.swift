import ArgumentParser
import UplinkCore
import UplinkKernel

struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Validate a config without touching the kernel.",
        discussion: """
            Prints every problem as FILE:LINE:COLUMN: error: MESSAGE, and every doubt (such as a policy entry \
            an earlier one already catches) as FILE:LINE:COLUMN: warning: MESSAGE. \
            It also reads (never changes) the ip rules of this host, or of --netns: rules of other programs \
            that come after uplinkctl's and send traffic elsewhere (a VPN's) are named, since the connections \
            they route by another interface are left alone. \
            Exit 0 valid (warnings or not), 65 invalid, 66 missing file.
            """
    )

    @OptionGroup var config: ConfigArgument
    @OptionGroup var kernelOptions: KernelOptions

    func run() throws {
        let loaded = try config.load()
        let state = Planner.plan(loaded)
        let total = state.uplinks.map(\.slots).reduce(0, +)
        let summary = state.uplinks.map { planned in
            let auto = planned.uplink.gatewayAuto ? ", gateway auto: read from the kernel" : ""
            return "\(planned.uplink.name) (\(planned.uplink.interface)\(auto), \(planned.slots)/\(total))"
        }
        let count = loaded.policies.count
        let policies = count == 0 ? "" : "; \(count) policy entr\(count == 1 ? "y" : "ies")"
        print(
            "\(config.path == "-" ? "<stdin>" : config.path): valid; \(loaded.balance.rawValue) over \(summary.joined(separator: ", "))\(policies)"
        )
        for service in loaded.services { print("  " + service.summary) }
        if let mptcp = state.mptcp {
            let carriers = loaded.uplinks.filter(\.mptcp).map(\.name)
            let without = loaded.uplinks.filter { !$0.mptcp }.map(\.name)
            print(
                "  mptcp: subflows over \(carriers.joined(separator: ", "))"
                    + (without.isEmpty ? "" : "; none over \(without.joined(separator: ", "))")
                    + "; limits \(mptcp.limits)" + (loaded.mptcp?.announce == true ? "; addresses announced" : ""))
        }
        if let rules = kernelOptions.foreignRulesForCheck() {
            kernelOptions.printNotices(RoutingNotice.notices(loaded, foreignRules: rules))
        }
    }
}
