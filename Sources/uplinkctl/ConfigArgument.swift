import ArgumentParser
import Foundation
import UplinkCore

/// The CONFIG argument shared by the commands that read a config.
struct ConfigArgument: ParsableArguments {
    @Argument(help: ArgumentHelp("The config file; '-' reads standard input.", valueName: "config"))
    var path: String = Config.defaultPath

    /// The valid config, after printing warnings; exits 65 or 66 with every problem printed otherwise.
    func load() throws -> Config {
        let check: ConfigCheck
        do {
            check = try ConfigSource.load(path)
        } catch {
            printError("uplinkctl: \(error)")
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

func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}
