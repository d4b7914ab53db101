import CNetlink
import Foundation
import TestSupport
import Testing

@testable import UplinkCore
@testable import UplinkKernel

/// The reconcile workflow (Reconciler.apply: read, plan, diff, change) against the fake kernel.
@Suite struct ReconcileTests {
    static let fixtures = Paths.repository.appendingPathComponent("Tests/UplinkKernelTests/Fixtures")

    /// A fresh apply of the lab's config: every read first, then every change in its order and
    /// byte for byte (Fixtures/lab-apply.txt; UPDATE_GOLDENS=1 rewrites it), the nft batch
    /// exactly nft's own for the same table (Tests/UplinkCoreTests/Fixtures/nft-debug/lab.messages.txt).
    @Test func aFreshApplySendsTheWholeSequence() throws {
        try FakeLab.with { lab in
            let outcome = lab.apply(try FakeLab.example("lab"))
            guard case .applied = outcome else {
                Issue.record("\(outcome)")
                return
            }
            let journal = lab.kernel.journal
            let firstChange = try #require(journal.firstIndex { $0.kind == .change })
            #expect(journal[firstChange...].allSatisfy { $0.kind == .change && $0.errno == 0 })

            let transcript = Transcript.changes(journal)
            let golden = Self.fixtures.appendingPathComponent("lab-apply.txt")
            if ProcessInfo.processInfo.environment["UPDATE_GOLDENS"] == "1" {
                try transcript.write(to: golden, atomically: true, encoding: .utf8)
            }
            #expect(transcript == (try String(contentsOf: golden, encoding: .utf8)))

            let batch = try #require(journal.last { $0.object == "nftables transaction" })
            #expect(batch.messages.dropFirst().dropLast().map(Transcript.nftLine) == (try FakeLab.nftBatch()))
            #expect(batch.messages.first?.type == UInt16(NFNL_MSG_BATCH_BEGIN))
            #expect(batch.messages.last?.type == UInt16(NFNL_MSG_BATCH_END))
        }
    }

    /// Applying the same config again reads the kernel, finds it as wanted, and sends no change.
    @Test func aNoChangeReapplySendsNoChange() throws {
        try FakeLab.with { lab in
            let config = try FakeLab.example("lab")
            guard case .applied = lab.apply(config) else { throw FakeLabFailure("the first apply") }
            let installed = lab.kernel.state
            lab.kernel.clearJournal()
            let again = lab.apply(config)
            guard case .inSync = again else {
                Issue.record("\(again)")
                return
            }
            #expect(lab.kernel.changes.isEmpty, "\(Transcript.changes(lab.kernel.journal))")
            #expect(!lab.kernel.journal.isEmpty)
            #expect(lab.kernel.state == installed)
        }
    }

    /// A read the kernel refuses (nf_tables answers a listing only to CAP_NET_ADMIN) stops the
    /// apply before any change, and says which read.
    @Test func aRefusedReadChangesNothing() throws {
        try FakeLab.with { lab in
            lab.kernel.refusedReads["nft list table inet uplinkctl"] = EPERM
            let pristine = lab.kernel.state
            guard case .kernelRefused(let error) = lab.apply(try FakeLab.example("lab")) else {
                throw FakeLabFailure("the apply was not refused")
            }
            let refusal = "nft list table inet uplinkctl: Operation not permitted; uplinkctl needs CAP_NET_ADMIN"
            #expect("\(error)".hasPrefix(refusal))
            #expect(lab.kernel.changes.isEmpty)
            #expect(lab.kernel.state == pristine)
        }
    }
}

struct FakeLabFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
