import CNetlink
import Foundation
import Glibc
import Testing

@testable import UplinkCore
@testable import UplinkKernel

/// An apply the kernel refuses half-way: every step already made is undone, newest first, each by
/// the exact inverse of its message, and the fake kernel then holds what it held before.
@Suite struct UndoTests {
    /// The refusals the steps meet, in turn (not ENOENT: for a delete, that is no failure).
    static let errnos: [Int32] = [EEXIST, EPERM, EBUSY, EINVAL]

    /// The lab without up3: from the lab's config, the nft batch, then up3's rule, route and
    /// rp_filter go.
    static let twoUplinks = """
        balance: nth
        traffic: [local, forwarded]
        uplinks:
          - {name: up1, interface: up1, gateway: 198.18.1.1}
          - {name: up2, interface: up2, gateway: 198.18.2.1}
        """

    /// Every step of a fresh apply in turn: the routes, the rules, the sysctls, the nft batch.
    @Test func eachStepOfAFreshApply() throws {
        try Self.refuseEachStep(of: try FakeLab.example("lab"), after: nil)
    }

    /// Every step of a change from the lab's three uplinks to two in turn: the nft batch (whose
    /// undo rebuilds the table as it was), up3's rules, its route, its rp_filter.
    @Test func eachStepOfAChange() throws {
        let config = try ConfigParser.parse(Self.twoUplinks, file: "two-uplinks.yaml").get()
        try Self.refuseEachStep(of: config, after: try FakeLab.example("lab"))
    }

    /// An undo step refused too: the apply's refusal and the step that could not be undone are
    /// both reported, every other step is undone, and only that one's object is left behind.
    @Test func anUndoThatFailsIsReported() throws {
        try FakeLab.with { lab in
            let pristine = lab.kernel.state
            // Changes 1-5 made (3 routes, 2 rules), the third rule (6) refused; its undo deletes
            // the second rule (7), then the first (8), refused, then the routes.
            lab.kernel.refusals = [6: EEXIST, 8: EPERM]
            guard case .incompleteUndo(let incomplete) = lab.apply(try FakeLab.example("lab")) else {
                throw FakeLabFailure("not an incomplete undo")
            }
            let changes = lab.kernel.changes
            #expect(changes.count == 11)
            let refused = "\(changes[5].object): File exists"
            let notUndone =
                "\(changes[7].object): Operation not permitted; uplinkctl needs CAP_NET_ADMIN "
                + "(run it as root, or give it the capability)"
            #expect("\(incomplete.cause)" == refused)
            #expect(incomplete.failures == [notUndone])
            #expect(changes[7].object.hasPrefix("ip rule del "))
            #expect(changes[7].object == Self.undoObject(changes[3].object))
            #expect(
                incomplete.description == "\(refused); 1 of the 5 steps already made could not be undone: "
                    + "\(notUndone); the other 4 were, so the kernel differs from before in that step alone "
                    + "(`uplinkctl diff` shows it; `uplinkctl apply` or `uplinkctl flush` puts it right)")
            var left = pristine
            left.routing.rules = [changes[3].messages[0].stored]
            #expect(lab.kernel.state == left)
        }
    }

    /// A delete that finds nothing (ENOENT) is no failure, and nothing to undo: of a change
    /// refused later, the steps before are undone but that one.
    @Test func aDeleteThatFindsNothingIsNotUndone() throws {
        try FakeLab.with { lab in
            guard case .applied = lab.apply(try FakeLab.example("lab")) else { throw FakeLabFailure("the first apply") }
            lab.kernel.clearJournal()
            let pristine = lab.kernel.state
            // The nft batch, then up3's three rules deleted: the first finds nothing, the third is refused.
            lab.kernel.refusals = [2: ENOENT, 4: EPERM]
            let config = try ConfigParser.parse(Self.twoUplinks, file: "two-uplinks.yaml").get()
            guard case .kernelRefused = lab.apply(config) else { throw FakeLabFailure("not refused") }
            let changes = lab.kernel.changes
            try #require(changes.count == 6, "\(Transcript.changes(changes))")
            #expect(changes[1].object.hasPrefix("ip rule del ") && changes[1].errno == ENOENT)
            #expect(Self.isUndo(changes[4], of: changes[2], sysctls: pristine.sysctls, tableBefore: []))
            let table = try FakeLab.nftBatch()
            #expect(Self.isUndo(changes[5], of: changes[0], sysctls: pristine.sysctls, tableBefore: table))
            #expect(lab.kernel.state == pristine)
        }
    }

    /// Refuses each change of applying `config` (after `previous`) in turn, and checks the undo.
    static func refuseEachStep(of config: Config, after previous: Config?) throws {
        var steps: [FakeKernel.Record] = []
        try FakeLab.with { clean in
            try prepare(clean, previous)
            guard case .applied = clean.apply(config) else { throw FakeLabFailure("the clean apply") }
            steps = clean.kernel.changes
        }
        for step in steps.indices.map({ $0 + 1 }) {
            try refuse(step: step, of: config, after: previous, steps: steps)
        }
    }

    static func refuse(step: Int, of config: Config, after previous: Config?, steps: [FakeKernel.Record]) throws {
        try FakeLab.with { lab in
            try prepare(lab, previous)
            let pristine = lab.kernel.state
            let record = try lab.store.record()
            let tableBefore = try previous.map { _ in try FakeLab.nftBatch() } ?? []
            let errno = errnos[step % errnos.count]
            lab.kernel.refusals = [step: errno]
            guard case .kernelRefused(let error) = lab.apply(config) else { throw FakeLabFailure("not refused") }
            let refusal = try #require(error as? KernelRefusal)
            // A batch's refusal names the change of the message refused (here its first).
            let object = steps[step - 1].object == "nftables transaction" ? refusal.object : steps[step - 1].object
            #expect(refusal.object == object && refusal.errno == errno, "step \(step)")
            let changes = lab.kernel.changes
            try #require(changes.count == 2 * step - 1, "\(Transcript.changes(changes))")
            for (sent, planned) in zip(changes.prefix(step), steps) {
                #expect(sent.object == planned.object && sent.messages == planned.messages, "step \(step)")
            }
            for (undo, made) in zip(changes.dropFirst(step), steps.prefix(step - 1).reversed()) {
                #expect(
                    isUndo(undo, of: made, sysctls: pristine.sysctls, tableBefore: tableBefore),
                    "step \(step): \(made.object) undone by \(undo.object)")
            }
            #expect(lab.kernel.state == pristine, "step \(step) left a trace")
            #expect(try lab.store.record() == record, "step \(step)")
        }
    }

    private static func prepare(_ lab: FakeLab, _ previous: Config?) throws {
        guard let previous else { return }
        guard case .applied = lab.apply(previous) else { throw FakeLabFailure("the earlier apply") }
        lab.kernel.clearJournal()
    }

    /// `undo` puts back what `made` changed: the same route or rule deleted (or added back), the
    /// sysctl's earlier value written, the table deleted and rebuilt as `tableBefore` lists it.
    static func isUndo(
        _ undo: FakeKernel.Record, of made: FakeKernel.Record, sysctls: [String: String],
        tableBefore: [String]
    ) -> Bool {
        guard undo.errno == 0 else { return false }
        if made.object.hasPrefix("sysctl -w ") {
            let key = String(made.object.dropFirst("sysctl -w ".count).prefix { $0 != "=" })
            let before = sysctls[key.replacingOccurrences(of: ".", with: "/")] ?? "?"
            return undo.object == "sysctl -w \(key)=\(before)" && undo.messages.isEmpty
        }
        if made.object == "nftables transaction" {
            let lines = undo.messages.dropFirst().dropLast().map(Transcript.nftLine)
            return undo.object == made.object && lines.first?.hasPrefix("delete-table uplinkctl ") == true
                && Array(lines.dropFirst()) == tableBefore
        }
        let pairs: [(Int, Int)] = [(RTM_NEWROUTE, RTM_DELROUTE), (RTM_NEWRULE, RTM_DELRULE)]
        var inverse: [UInt16: UInt16] = [:]
        for (add, delete) in pairs {
            inverse[UInt16(add)] = UInt16(delete)
            inverse[UInt16(delete)] = UInt16(add)
        }
        guard made.messages.count == 1, undo.messages.count == 1 else { return false }
        let (sent, back) = (made.messages[0], undo.messages[0])
        return inverse[sent.type] == back.type && sent.payload == back.payload && undo.object == undoObject(made.object)
    }

    /// `ip rule add ...` is undone by `ip rule del ...`, and the other way round.
    static func undoObject(_ object: String) -> String {
        for (verb, inverse) in [(" add ", " del "), (" del ", " add ")] where object.contains(verb) {
            return object.replacingOccurrences(of: verb, with: inverse)
        }
        return object
    }
}
