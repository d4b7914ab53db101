import ArgumentParser

@main
struct Uplinkctl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "uplinkctl",
        abstract: "Use several uplinks at once: policy routing and per-connection balancing from one declarative file.",
        discussion: """
            Exit status: 0 success, 1 refused by a check or the kernel (nothing changed), 3 the kernel refused \
            and a step already made could not be undone (named), 64 usage error, 65 invalid config, 66 config \
            file missing or unreadable; diff exits 0 in sync, 1 different, 2 trouble.
            """,
        version: "\(Uplinkctl.version) (commit \(BuildInfo.commit))",
        subcommands: [
            CheckCommand.self, ApplyCommand.self, ConfirmCommand.self, RunCommand.self, DiffCommand.self,
            FlushCommand.self, StatusCommand.self
        ]
    )

    /// The release: the number of the last issue it resolves, as 0.N.0.
    static let version = "0.12.0"
}
