import ArgumentParser
import Foundation
import UplinkCore

/// The CONFIG argument shared by the commands that read a config.
struct ConfigArgument: ParsableArguments {
    @Argument(help: ArgumentHelp("The config file (default: \(Config.defaultPath)); '-' reads standard input.", valueName: "config"))
    var given: String?

    /// The file given, or the default.
    var path: String { given ?? Config.defaultPath }

    /// The valid config, after printing warnings; exits 65 or 66 with every problem printed otherwise.
    /// A command that falls back to the default path says so (on standard error), so that the
    /// file it acts on is never a guess.
    func load() throws -> Config {
        if given == nil { printError("uplinkctl: using \(Config.defaultPath) (no config given)") }
        let check: ConfigCheck
        do {
            check = try ConfigSource.load(path)
        } catch {
            let hint = given == nil ? "; give the config's path as the last argument" : ""
            printError("uplinkctl: \(error)\(hint)")
            throw ExitStatus.noInput
        }
        for diagnostic in check.diagnostics { printError(diagnostic.description) }
        do {
            return try check.get()
        } catch {
            let count = check.errors.count
            printError("uplinkctl: \(count) error\(count == 1 ? "" : "s") in \(check.diagnostics.first?.location.file ?? path); nothing was applied")
            throw ExitStatus.dataError
        }
    }
}

/// To standard error; a write that fails (a terminal that has gone) is dropped, not fatal.
func printError(_ text: String, newline: Bool = true) {
    let bytes = Array((newline ? text + "\n" : text).utf8)
    _ = bytes.withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
}
