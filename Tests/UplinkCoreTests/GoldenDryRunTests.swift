import Foundation
import TestSupport
import Testing
import UplinkCore

/// Every example config, planned and rendered in both dry-run forms, must match its golden
/// script under Fixtures/golden byte for byte. A change to planning or rendering shows up as
/// a diff of those scripts, which a reviewer reads like the commands an admin would type.
///
/// After an intended change: `UPDATE_GOLDENS=1 swift test --filter GoldenDryRun` rewrites
/// the goldens (the tests then pass); review them with `git diff` before committing.
@Suite("Golden dry-run scripts of the examples")
struct GoldenDryRunTests {
    static let updating = ProcessInfo.processInfo.environment["UPDATE_GOLDENS"] == "1"
    static let goldenDirectory = Paths.fixtures.appendingPathComponent("golden")

    static func golden(_ example: String, _ format: DryRunFormat) -> URL {
        goldenDirectory.appendingPathComponent("\(example).\(format.rawValue).sh")
    }

    static func plan(_ example: String) throws -> DesiredState {
        let text = try Paths.read(Paths.examples.appendingPathComponent("\(example).yaml"))
        let check = ConfigParser.parse(text, file: "examples/\(example).yaml")
        #expect(
            check.diagnostics.isEmpty,
            "examples/\(example).yaml: \(check.diagnostics.map(\.description).joined(separator: "\n"))")
        return Planner.plan(try check.get())
    }

    @Test("the examples directory is not empty")
    func examplesExist() {
        #expect(!Paths.exampleNames.isEmpty, "no examples/*.yaml found under \(Paths.examples.path)")
    }

    @Test("each example starts with a comment block saying what it is for", arguments: Paths.exampleNames)
    func startsWithComment(_ example: String) throws {
        let text = try Paths.read(Paths.examples.appendingPathComponent("\(example).yaml"))
        #expect(text.hasPrefix("# "), "examples/\(example).yaml must begin with a comment")
    }

    @Test("dry-run matches the golden script", arguments: Paths.exampleNames, DryRunFormat.allCases)
    func matchesGolden(_ example: String, _ format: DryRunFormat) throws {
        let script = DryRun.script(try Self.plan(example), format: format)
        let url = Self.golden(example, format)
        if Self.updating {
            try FileManager.default.createDirectory(at: Self.goldenDirectory, withIntermediateDirectories: true)
            try script.write(to: url, atomically: true, encoding: .utf8)
            return
        }
        guard FileManager.default.fileExists(atPath: url.path) else {
            Issue.record(
                "no golden \(url.lastPathComponent); create it with UPDATE_GOLDENS=1 swift test --filter GoldenDryRun")
            return
        }
        let expected = try Paths.read(url)
        if script != expected {
            Issue.record(
                """
                dry-run of examples/\(example).yaml --format \(format.rawValue) differs from \(url.lastPathComponent):
                \(firstDifference(expected: expected, actual: script))
                If the change is intended: UPDATE_GOLDENS=1 swift test --filter GoldenDryRun, then review git diff.
                """)
        }
    }

    @Test("every golden belongs to an example")
    func noStaleGoldens() throws {
        guard !Self.updating else { return }
        let files = (try? FileManager.default.contentsOfDirectory(atPath: Self.goldenDirectory.path)) ?? []
        let expected = Set(
            Paths.exampleNames.flatMap { example in
                DryRunFormat.allCases.map { Self.golden(example, $0).lastPathComponent }
            })
        let stale = files.filter { $0.hasSuffix(".sh") && !expected.contains($0) }.sorted()
        #expect(stale.isEmpty, "goldens without an example (delete them): \(stale.joined(separator: ", "))")
    }
}

/// The first line where two texts differ, both versions, for a readable failure.
private func firstDifference(expected: String, actual: String) -> String {
    let a = expected.split(separator: "\n", omittingEmptySubsequences: false)
    let b = actual.split(separator: "\n", omittingEmptySubsequences: false)
    for index in 0..<max(a.count, b.count) {
        let left = index < a.count ? String(a[index]) : "(end of file)"
        let right = index < b.count ? String(b[index]) : "(end of file)"
        if left != right {
            return "line \(index + 1):\n  golden: \(left)\n  now:    \(right)"
        }
    }
    return "(the texts differ only in line endings)"
}
