import ArgumentParser
import UplinkCore
import UplinkKernel

struct FlushCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "flush",
        abstract: "Remove everything uplinkctl installed and put back the sysctls it changed.",
        discussion: """
            Removes the `inet uplinkctl` nft table, and the ip rules and routes that carry protocol \
            117; nothing else. Needs no config. Exit status: 0 done, 1 refused by the kernel (nothing \
            changed), 3 refused by the kernel and a step already made could not be undone (named).
            """
    )

    @OptionGroup var kernelOptions: KernelOptions

    func run() throws {
        let reconciler = try kernelOptions.open(pending: .refuse)
        if let pid = reconciler.store.runningProcess() {
            printError(
                "uplinkctl: uplinkctl run (pid \(pid)) manages this namespace and would put "
                    + "everything back; stop it first: kill \(pid) (or systemctl stop uplinkctl), and "
                    + "give it --flush-on-exit to remove everything as it ends; nothing was changed"
            )
            throw ExitStatus.kernelRefused
        }
        do {
            let changes = try reconciler.flush(waiting: KernelOptions.waiting)
            for line in changes.lines { print(line) }
            print(
                changes.isEmpty
                    ? "uplinkctl: nothing to flush" : "uplinkctl: removed everything uplinkctl had installed")
        } catch let error as IncompleteUndo {
            printError("uplinkctl: \(error)")
            throw ExitStatus.incompleteUndo
        } catch {
            printError("uplinkctl: \(error)")
            throw ExitStatus.kernelRefused
        }
    }
}
