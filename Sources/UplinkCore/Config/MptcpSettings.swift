/// `mptcp: true`: one connection over every uplink. The kernel's in-kernel path manager gets an
/// endpoint per address of each uplink that carries subflows, and its limits.
public struct MptcpSettings: Sendable, Hashable, Codable {
    /// `mptcp-announce: true`: the endpoints also announce their address to peers (signal),
    /// for a host that serves MPTCP clients.
    public var announce: Bool
    /// `mptcp-limits`; nil: as many extra subflows, and accepted addresses, as the uplinks that
    /// carry subflows, less one.
    public var limits: MptcpLimits?

    public init(announce: Bool = false, limits: MptcpLimits? = nil) {
        self.announce = announce
        self.limits = limits
    }
}
