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
        let file = config.path == "-" ? "<stdin>" : config.path
        for line in CheckReport.lines(loaded, state: Planner.plan(loaded), file: file) { print(line) }
        if let rules = kernelOptions.foreignRulesForCheck() {
            kernelOptions.printNotices(RoutingNotice.notices(loaded, foreignRules: rules))
        }
    }
}
