import Foundation

/// Files of the repository, found from this source file so tests run from any directory.
public enum Paths {
    public static let repository = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    public static let fixtures = repository.appendingPathComponent("Tests/UplinkCoreTests/Fixtures")
    public static let examples = repository.appendingPathComponent("examples")
    /// The examples' names without `.yaml`, sorted.
    public static let exampleNames: [String] = {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: examples.path)) ?? []
        return names.filter { $0.hasSuffix(".yaml") }.map { String($0.dropLast(".yaml".count)) }.sorted()
    }()
    /// Built by `make test` (swift build --build-tests builds the executable too);
    /// UPLINKCTL_BIN points elsewhere when building with another --scratch-path.
    public static let uplinkctl =
        ProcessInfo.processInfo.environment["UPLINKCTL_BIN"].map(URL.init(fileURLWithPath:))
        ?? repository.appendingPathComponent(".build/debug/uplinkctl")

    public static func read(_ url: URL) throws -> String { try String(contentsOf: url, encoding: .utf8) }
}
