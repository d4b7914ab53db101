import CNetlink
import UplinkCore

/// The MPTCP path manager of the namespace, as the kernel object uplinkctl changes: endpoints
/// named by address and interface (ids are the kernel's business), limits.
final class MptcpKernel {
    private let netlink: MptcpNetlink

    /// Nil when this kernel has no MPTCP path manager.
    static func open(_ handle: KernelHandle) -> MptcpKernel? {
        try? MptcpKernel(netlink: MptcpNetlink(socket: handle.socket(NETLINK_GENERIC)))
    }

    private init(netlink: MptcpNetlink) {
        self.netlink = netlink
    }

    func read(_ links: [String: InterfaceState]) throws -> LiveMptcp {
        try netlink.read(
            interfaces: Dictionary(
                links.values.map { ($0.index, $0.name) },
                uniquingKeysWith: { a, _ in a }))
    }

    /// `id`: the one it had (an undo); nil lets the kernel pick.
    func add(_ endpoint: MptcpEndpoint, links: [String: InterfaceState], id: UInt8? = nil) throws {
        try netlink.add(endpoint, interfaceIndex: links[endpoint.interface]?.index ?? 0, id: id)
    }

    /// By address and interface: the id it has now (an undo cannot know it in advance).
    func delete(_ endpoint: MptcpEndpoint, links: [String: InterfaceState]) throws {
        guard let found = try read(links).endpoints.first(where: { $0.endpoint.address == endpoint.address }) else {
            return
        }
        try netlink.delete(id: found.id, endpoint: found.endpoint)
    }

    func delete(_ endpoint: LiveMptcp.Endpoint) throws {
        try netlink.delete(id: endpoint.id, endpoint: endpoint.endpoint)
    }

    func setLimits(_ limits: MptcpLimits) throws { try netlink.setLimits(limits) }
}

extension LiveMptcp {
    /// The endpoints `record` says uplinkctl added, as long as they are still as it wrote them.
    func owned(by record: SysctlRecord) -> LiveMptcp {
        let ours = record.mptcp?.endpoints ?? []
        let owned = endpoints.filter { live in
            live.otherFlags == 0
                && ours.contains {
                    $0.address == live.endpoint.address && $0.interface == live.endpoint.interface
                }
        }
        return LiveMptcp(endpoints: owned, limits: limits)
    }
}
