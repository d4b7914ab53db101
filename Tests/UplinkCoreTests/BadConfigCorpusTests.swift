import Foundation
import Testing
import UplinkCore

/// Fixtures/bad: every `<case>.yaml` is an invalid config, or a valid one that deserves a warning,
/// and `<case>.expected` holds, one per line, the exact diagnostics
/// `ConfigParser.parse(text, file: "<case>.yaml")` must give for it.
enum BadConfigCorpus {
    static let directory = Paths.fixtures.appendingPathComponent("bad")

    static func files(endingIn suffix: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { $0.hasSuffix(suffix) }.map { String($0.dropLast(suffix.count)) }.sorted()
    }

    /// The case names, without `.yaml`.
    static let cases = files(endingIn: ".yaml")

    static func yaml(_ name: String) -> URL { directory.appendingPathComponent("\(name).yaml") }
    static func expected(_ name: String) -> URL { directory.appendingPathComponent("\(name).expected") }

    /// The expected diagnostics of a case, one per line.
    static func expectedLines(_ name: String) throws -> [String] {
        try Paths.read(expected(name)).split(separator: "\n").map(String.init)
    }

    /// Cases whose expected diagnostics are all warnings: the config is usable.
    static let warningCases = cases.filter { name in
        (try? expectedLines(name))?.allSatisfy { $0.contains(": warning: ") } ?? false
    }
}

@Suite("Bad config corpus")
struct BadConfigCorpusTests {
    @Test func corpusIsComplete() {
        #expect(BadConfigCorpus.cases.count >= 25)
        // Every .expected belongs to a .yaml and the other way round.
        #expect(BadConfigCorpus.files(endingIn: ".expected") == BadConfigCorpus.cases)
    }

    @Test(arguments: BadConfigCorpus.cases)
    func diagnosticsAreExactlyTheExpectedOnes(_ name: String) throws {
        let text = try Paths.read(BadConfigCorpus.yaml(name))
        let expected = try BadConfigCorpus.expectedLines(name)
        let check = ConfigParser.parse(text, file: "\(name).yaml")

        if BadConfigCorpus.warningCases.contains(name) {
            // Warnings only: the config is still usable.
            #expect(check.config != nil)
            #expect(check.errors.isEmpty)
            #expect(throws: Never.self) { try check.get() }
        } else {
            #expect(check.config == nil)
            #expect(!check.errors.isEmpty)
            #expect(throws: InvalidConfig.self) { try check.get() }
        }
        #expect(!expected.isEmpty, "\(name).expected is empty")
        #expect(check.diagnostics.map(\.description) == expected)
        // Reported in file order, so the first line printed is the first problem in the file.
        #expect(check.diagnostics.map(\.location) == check.diagnostics.map(\.location).sorted())
    }

    @Test func everyNewCheckOfPoliciesHasACase() {
        // One warning-only case per warning the parser gives, so none of them goes untested.
        #expect(BadConfigCorpus.warningCases.count >= 7)
        #expect(BadConfigCorpus.cases.filter { $0.hasPrefix("policy-") }.count >= 25)
    }

    @Test func severalErrorsInDifferentUplinksAreAllReported() throws {
        let check = ConfigParser.parse(
            try Paths.read(BadConfigCorpus.yaml("several-errors")), file: "several-errors.yaml")
        #expect(check.errors.count == 8)
        #expect(Set(check.errors.map(\.location.line)) == [7, 8, 11, 12, 13, 14, 16, 17])
    }
}
