import CNetlink
import Glibc
import Testing

@testable import UplinkCore
@testable import UplinkKernel

/// The lab's fault injection (UPLINKCTL_FAULT_AT, UPLINKCTL_FAULT_UNDO_AT), a handle decorator,
/// over the fake kernel: the chosen change is replaced by a request the kernel refuses.
@Suite struct FaultInjectionTests {
    static func injecting(_ environment: [String: String]) -> (FakeKernel) throws -> KernelHandle {
        { try $0.handle.injectingFaults(from: environment) }
    }

    /// The sixth step (the third rule) and the second step of its undo (deleting the first rule)
    /// are refused by the kernel itself (the request through an interface that does not exist
    /// is sent in their place), and reported as their own.
    @Test func theChosenStepAndUndoStepAreRefused() throws {
        try FakeLab.with(
            { lab in
                let pristine = lab.kernel.state
                guard case .incompleteUndo(let incomplete) = lab.apply(try FakeLab.example("lab")) else {
                    throw FakeLabFailure("not an incomplete undo")
                }
                let changes = lab.kernel.changes
                let planned = Self.steps()
                // 5 steps made, the injected refusal, an undo step, the injected refusal, 3 undo steps.
                #expect(changes.count == 11)
                for index in [5, 7] {
                    #expect(
                        changes[index].errno == ENODEV && changes[index].messages.first?.type == UInt16(RTM_NEWROUTE))
                }
                #expect(changes[5].object == planned[5] && changes[7].object == UndoTests.undoObject(planned[3]))
                #expect(
                    "\(incomplete.cause)" == "\(planned[5]): No such device (refusal injected by UPLINKCTL_FAULT_AT)")
                let undo = UndoTests.undoObject(planned[3])
                #expect(
                    incomplete.failures == ["\(undo): No such device (refusal injected by UPLINKCTL_FAULT_UNDO_AT)"])
                var left = pristine
                left.routing.rules = [changes[3].messages[0].stored]
                #expect(lab.kernel.state == left)
            }, handle: Self.injecting(["UPLINKCTL_FAULT_AT": "6", "UPLINKCTL_FAULT_UNDO_AT": "2"]))
    }

    /// A fault after the last step is never reached: the apply goes through.
    @Test func aFaultPastTheLastStepIsNotReached() throws {
        try FakeLab.with(
            { lab in
                guard case .applied = lab.apply(try FakeLab.example("lab")) else { throw FakeLabFailure("not applied") }
                #expect(lab.kernel.changes.allSatisfy { $0.errno == 0 })
            }, handle: Self.injecting(["UPLINKCTL_FAULT_AT": String(Self.steps().count + 1)]))
    }

    /// The objects of a clean apply's steps, in order.
    static func steps() -> [String] {
        var objects: [String] = []
        try? FakeLab.with { lab in
            _ = lab.apply(try FakeLab.example("lab"))
            objects = lab.kernel.changes.map(\.object)
        }
        return objects
    }
}
