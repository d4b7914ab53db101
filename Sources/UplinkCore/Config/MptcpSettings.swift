/// `mptcp: true`: one connection over every uplink. The kernel's in-kernel path manager gets an
/// endpoint per address of each uplink that carries subflows, and its limits.
public struct MptcpSettings: Sendable, Hashable, Codable {
    /// `mptcp-announce: true`: the endpoints also announce their address to peers (signal),
    /// for a host that serves MPTCP clients.
    public var announce: Bool
    /// `mptcp-limits`' `subflows` and `add-addr-accepted`; nil: as many as the uplinks that
    /// carry subflows, less one.
    public var subflows: UInt32?
    public var addAddrAccepted: UInt32?

    public init(announce: Bool = false, subflows: UInt32? = nil, addAddrAccepted: UInt32? = nil) {
        self.announce = announce
        self.subflows = subflows
        self.addAddrAccepted = addAddrAccepted
    }
}
