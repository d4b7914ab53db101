import ArgumentParser
import UplinkCore
import UplinkKernel

struct DiffCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "Compare what is installed with the config.",
        discussion: """
            Prints each difference as the command that would fix it: `+` to add, `-` to remove, in \
            the dry-run's language. Exit status as diff(1): 0 in sync, 1 different, 2 trouble.
            """
    )

    @OptionGroup var config: ConfigArgument
    @OptionGroup var kernelOptions: KernelOptions

    func run() throws {
        let differs: Bool
        do {
            differs = try compare()
        } catch {
            // Every trouble (bad config, no namespace, a refusal) has been printed: diff(1)'s 2.
            if !(error is ExitCode) { printError("uplinkctl: \(error)") }
            throw ExitCode(2)
        }
        if differs { throw ExitCode(1) }
    }

    /// Prints the differences; true when there are any.
    private func compare() throws -> Bool {
        let loaded = try config.load()
        let changes = try kernelOptions.open(pending: .mention).read(loaded).changes
        for line in changes.lines { print(line) }
        return !changes.isEmpty
    }
}
