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
        do {
            let desired = Planner.plan(try config.load())
            let (kernel, store) = try kernelOptions.open()
            let (live, record) = try liveState(kernel, store, desired: desired)
            let changes = StateDiff.changes(from: live, to: desired, record: record)
            for line in changes.lines { print(line) }
            if !changes.isEmpty { throw ExitCode(1) }
        } catch let exit as ExitCode where exit == ExitCode(1) {
            throw exit
        } catch let exit as ExitCode {
            throw ExitCode(exit == ExitCode.success ? 0 : 2)
        } catch {
            printError("uplinkctl: \(error)")
            throw ExitCode(2)
        }
    }
}
