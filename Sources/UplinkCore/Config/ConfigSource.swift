import Foundation

/// Where a config comes from: a file path, or `-` for standard input.
public enum ConfigSource {
    /// For a reload: a file that cannot be read is one more diagnostic, not an error thrown.
    public static func reload(_ path: String) -> ConfigCheck {
        do {
            return try load(path)
        } catch {
            return ConfigCheck(
                config: nil,
                diagnostics: [ConfigDiagnostic(at: SourceLocation(file: path, line: 1, column: 1), "\(error)")])
        }
    }

    /// Reads and checks the config at `path`; `-` reads standard input and names it `<stdin>`.
    public static func load(_ path: String) throws(UnreadableConfig) -> ConfigCheck {
        if path == "-" {
            let data = FileHandle.standardInput.readDataToEndOfFile()
            return try check(data, file: "<stdin>")
        }
        guard FileManager.default.fileExists(atPath: path) else {
            throw UnreadableConfig(path: path, reason: "no such file")
        }
        if let problem = ConfigPermissions.problem(path) {
            throw UnreadableConfig(path: path, reason: "refused: \(problem); nothing was read or changed")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw UnreadableConfig(path: path, reason: "cannot be read (permissions?)")
        }
        return try check(data, file: path)
    }

    /// The bytes of a config, as read from `file`: UTF-8 text, then parsed and checked.
    public static func check(_ data: Data, file: String) throws(UnreadableConfig) -> ConfigCheck {
        guard let text = String(data: data, encoding: .utf8) else {
            throw UnreadableConfig(path: file, reason: "is not UTF-8 text")
        }
        return ConfigParser.parse(text, file: file)
    }
}
