import ArgumentParser

@main
struct Uplinkctl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "uplinkctl",
        abstract: "Use several uplinks at once: policy routing and per-connection balancing from one declarative file.",
        discussion: """
        Exit status: 0 success, 64 usage error, 65 invalid config, 66 config file missing or unreadable.
        """,
        subcommands: [CheckCommand.self, ApplyCommand.self]
    )
}
