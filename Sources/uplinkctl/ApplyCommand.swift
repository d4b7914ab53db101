import ArgumentParser
import UplinkCore

extension DryRunFormat: ExpressibleByArgument {}

struct ApplyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apply",
        abstract: "Install the config's policy routing and balancing.",
        discussion: """
        With --dry-run, prints a POSIX sh script of the equivalent commands instead and needs no \
        root and no kernel: iptables form by default, or nft with --format nft.
        """
    )

    @OptionGroup var config: ConfigArgument

    @Flag(help: "Print the equivalent shell script instead of changing the kernel.")
    var dryRun = false

    @Option(help: "The dry-run's language: iptables or nft.")
    var format: DryRunFormat = .iptables

    func validate() throws {
        guard dryRun else {
            throw ValidationError("this build of uplinkctl can only print the dry-run; add --dry-run (applying over netlink is not in this build)")
        }
    }

    func run() throws {
        let state = Planner.plan(try config.load())
        print(DryRun.script(state, format: format), terminator: "")
    }
}
