import Foundation

/// Fixtures/bad: every `<case>.yaml` is an invalid config, or a valid one that deserves a warning,
/// and `<case>.expected` holds, one per line, the exact diagnostics
/// `ConfigParser.parse(text, file: "<case>.yaml")` must give for it.
public enum BadConfigCorpus {
    static let directory = Paths.fixtures.appendingPathComponent("bad")

    public static func files(endingIn suffix: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { $0.hasSuffix(suffix) }.map { String($0.dropLast(suffix.count)) }.sorted()
    }

    /// The case names, without `.yaml`.
    public static let cases = files(endingIn: ".yaml")

    public static func yaml(_ name: String) -> URL { directory.appendingPathComponent("\(name).yaml") }
    static func expected(_ name: String) -> URL { directory.appendingPathComponent("\(name).expected") }

    /// The expected diagnostics of a case, one per line.
    public static func expectedLines(_ name: String) throws -> [String] {
        try Paths.read(expected(name)).split(separator: "\n").map(String.init)
    }

    /// Cases whose expected diagnostics are all warnings: the config is usable.
    public static let warningCases = cases.filter { name in
        (try? expectedLines(name))?.allSatisfy { $0.contains(": warning: ") } ?? false
    }
}
