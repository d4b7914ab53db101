import ArgumentParser

/// sysexits(3) numbers, so scripts can tell a bad config from a missing one.
enum ExitStatus {
    static let kernelRefused = ExitCode(1)  // a check or the kernel refused; nothing changed
    static let incompleteUndo = ExitCode(3)  // the kernel refused, and a step already made could not be undone
    static let usage = ExitCode(64)  // EX_USAGE
    static let dataError = ExitCode(65)  // EX_DATAERR: the config is invalid
    static let noInput = ExitCode(66)  // EX_NOINPUT: the config file is missing or unreadable
}
