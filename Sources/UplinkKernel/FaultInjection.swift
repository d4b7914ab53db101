import CNetlink
import Glibc
import UplinkCore

/// The lab's fault injection, which the command line chooses from its environment
/// (KernelHandle.injectingFaults). UPLINKCTL_FAULT_AT=N refuses the N-th change this process
/// makes to the kernel: for `apply`, the N-th step of its transaction (a route, a rule, a sysctl,
/// an MPTCP request, the nft batch). UPLINKCTL_FAULT_UNDO_AT=M, with it, refuses the M-th change
/// after that refusal: the M-th step of the undo. A refused change is not made; in its place the
/// kernel is sent a request it refuses for certain (a route through an interface index that does
/// not exist), so that the refusal comes the real way, and it is reported as the change's own.
final class FaultInjection {
    private let applyStep: Int?
    private let undoStep: Int?
    /// An rtnetlink socket of the namespace, for the requests the kernel refuses.
    private let kernel: any NetlinkTransport
    private var changes = 0
    private var undoChanges = 0
    private var injected = false

    init(applyStep: Int?, undoStep: Int?, kernel: any NetlinkTransport) {
        self.applyStep = applyStep
        self.undoStep = undoStep
        self.kernel = kernel
    }

    /// Called before each change is made; when its turn has come, throws the kernel's refusal instead.
    func change(_ object: String) throws {
        if injected {
            undoChanges += 1
            if undoChanges == undoStep { try refuse(object, by: "UPLINKCTL_FAULT_UNDO_AT") }
        } else {
            changes += 1
            if changes == applyStep {
                injected = true
                try refuse(object, by: "UPLINKCTL_FAULT_AT")
            }
        }
    }

    private func refuse(_ object: String, by variable: String) throws {
        let detail = "refusal injected by \(variable)"
        do {
            _ = try kernel.request(
                object: object, type: UInt16(RTM_NEWROUTE),
                flags: Int32(NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE)
            ) { header in
                header.putExtraHeader(
                    rtmsg(
                        rtm_family: UInt8(AF_INET), rtm_dst_len: 0, rtm_src_len: 0, rtm_tos: 0,
                        rtm_table: UInt8(RT_TABLE_UNSPEC.rawValue),
                        rtm_protocol: Ownership.routeProtocol,
                        rtm_scope: UInt8(RT_SCOPE_LINK.rawValue), rtm_type: UInt8(RTN_UNICAST),
                        rtm_flags: 0))
                header.put(Int32(RTA_TABLE.rawValue), u32: 100_000)
                header.put(Int32(RTA_OIF.rawValue), u32: UInt32(Int32.max))
            }
        } catch let refusal as KernelRefusal {
            throw KernelRefusal(object: object, errno: refusal.errno, detail: detail)
        }
        throw KernelRefusal(
            object: object, errno: EINVAL,
            detail: detail + ", though the kernel took the request meant to fail")
    }
}

extension KernelHandle {
    /// This handle; or, when `environment` sets UPLINKCTL_FAULT_AT or UPLINKCTL_FAULT_UNDO_AT,
    /// one whose changes go through FaultInjection first.
    public func injectingFaults(from environment: [String: String]) throws -> KernelHandle {
        let applyStep = environment["UPLINKCTL_FAULT_AT"].flatMap { Int($0) }
        let undoStep = environment["UPLINKCTL_FAULT_UNDO_AT"].flatMap { Int($0) }
        guard applyStep != nil || undoStep != nil else { return self }
        let faults = FaultInjection(applyStep: applyStep, undoStep: undoStep, kernel: try socket(NETLINK_ROUTE))
        let open = socket
        return KernelHandle(
            socket: { FaultInjectingTransport(inner: try open($0), faults: faults) },
            sysctls: FaultInjectingSysctls(inner: sysctls, faults: faults))
    }
}
