import Foundation
import TestSupport
import Testing
import UplinkCore

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
