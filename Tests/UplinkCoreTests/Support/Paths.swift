import Foundation

/// Files of the repository, found from this source file so tests run from any directory.
enum Paths {
    static let repository = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let fixtures = repository.appendingPathComponent("Tests/UplinkCoreTests/Fixtures")
    static let examples = repository.appendingPathComponent("examples")
    /// Built by `make test` (swift build --build-tests builds the executable too);
    /// UPLINKCTL_BIN points elsewhere when building with another --scratch-path.
    static let uplinkctl =
        ProcessInfo.processInfo.environment["UPLINKCTL_BIN"].map(URL.init(fileURLWithPath:))
        ?? repository.appendingPathComponent(".build/debug/uplinkctl")

    static func read(_ url: URL) throws -> String { try String(contentsOf: url, encoding: .utf8) }
}
