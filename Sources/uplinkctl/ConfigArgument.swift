import ArgumentParser
import Foundation
import UplinkCore

/// The CONFIG argument shared by the commands that read a config.
struct ConfigArgument: ParsableArguments {
    @Argument(
        help: ArgumentHelp(
            "The config file (default: \(Config.defaultPath)); '-' reads standard input.", valueName: "config"))
    var given: String?

    /// The file given, or the default.
    var path: String { given ?? Config.defaultPath }

    /// The valid config, after printing warnings; exits 65 or 66 with every problem printed otherwise.
    /// A command that falls back to the default path says so (on standard error), so that the
    /// file it acts on is never a guess.
    func load() throws -> Config {
        switch read() {
        case .valid(let config):
            return config
        case .unreadable(let error):
            let hint = given == nil ? "; give the config's path as the last argument" : ""
            printError("uplinkctl: \(error)\(hint)")
            throw ExitStatus.noInput
        case .invalid(let count, let file):
            printError("uplinkctl: \(count) error\(count == 1 ? "" : "s") in \(file); nothing was applied")
            throw ExitStatus.dataError
        }
    }

    /// For a command that can do without: the valid config, or nil after saying why not and
    /// what it does instead (`instead`).
    func loadIfValid(else instead: String) -> Config? {
        switch read() {
        case .valid(let config):
            return config
        case .unreadable(let error):
            printError("uplinkctl: \(error); \(instead)")
        case .invalid(let count, let file):
            printError("uplinkctl: \(count) error\(count == 1 ? "" : "s") in \(file); \(instead)")
        }
        return nil
    }

    private enum Reading {
        case valid(Config)
        case unreadable(Error)
        case invalid(errors: Int, file: String)
    }

    /// Reads and checks the file, printing every diagnostic (and the default path, if used).
    private func read() -> Reading {
        if given == nil { printError("uplinkctl: using \(Config.defaultPath) (no config given)") }
        let check: ConfigCheck
        do {
            check = try ConfigSource.load(path)
        } catch {
            return .unreadable(error)
        }
        for diagnostic in check.diagnostics { printError(diagnostic.description) }
        guard let config = try? check.get() else {
            return .invalid(errors: check.errors.count, file: check.diagnostics.first?.location.file ?? path)
        }
        return .valid(config)
    }
}

/// To standard error; a write that fails (a terminal that has gone) is dropped, not fatal.
func printError(_ text: String, newline: Bool = true) {
    let bytes = Array((newline ? text + "\n" : text).utf8)
    _ = bytes.withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
}
