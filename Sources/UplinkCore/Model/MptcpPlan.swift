/// Multipath TCP as uplinkctl sets it up: one endpoint of the kernel's in-kernel path manager
/// per address of each uplink that carries subflows, and the path manager's limits.
public struct MptcpPlan: Sendable, Hashable, Codable {
    public var endpoints: [MptcpEndpoint]
    public var limits: MptcpLimits

    public init(endpoints: [MptcpEndpoint], limits: MptcpLimits) {
        self.endpoints = endpoints.sorted()
        self.limits = limits
    }
}

/// One path-manager endpoint (`ip mptcp endpoint add ADDRESS dev INTERFACE subflow [signal]`).
public struct MptcpEndpoint: Sendable, Hashable, Codable, Comparable, CustomStringConvertible {
    public var address: IPAddress
    public var interface: String
    /// Opens subflows from this address (the host as a client).
    public var subflow: Bool
    /// Announces this address to peers (the host as a server of MPTCP clients).
    public var signal: Bool

    public init(address: IPAddress, interface: String, subflow: Bool = true, signal: Bool = false) {
        self.address = address
        self.interface = interface
        self.subflow = subflow
        self.signal = signal
    }

    public static func < (a: MptcpEndpoint, b: MptcpEndpoint) -> Bool {
        (a.address, a.interface) < (b.address, b.interface)
    }

    /// The flags as `ip mptcp` spells them.
    public var flagWords: [String] { (signal ? ["signal"] : []) + (subflow ? ["subflow"] : []) }

    public var description: String { "\(address) dev \(interface) " + flagWords.joined(separator: " ") }
}

/// `ip mptcp limits set subflows N add_addr_accepted M`.
public struct MptcpLimits: Sendable, Hashable, Codable, CustomStringConvertible {
    /// Extra subflows per connection.
    public var subflows: UInt32
    /// Addresses announced by the peer that the host opens subflows to.
    public var addAddrAccepted: UInt32

    public init(subflows: UInt32, addAddrAccepted: UInt32) {
        self.subflows = subflows
        self.addAddrAccepted = addAddrAccepted
    }

    /// The kernel's ceiling for both (MPTCP_PM_ADDR_MAX).
    public static let maximum: UInt32 = 8

    public var description: String { "subflows \(subflows) add_addr_accepted \(addAddrAccepted)" }
}

/// The path manager as read from the kernel: every endpoint with the id the kernel gave it,
/// and the limits.
public struct LiveMptcp: Sendable, Hashable, Codable {
    public struct Endpoint: Sendable, Hashable, Codable {
        public var id: UInt8
        public var endpoint: MptcpEndpoint
        /// Flags uplinkctl does not write (backup, fullmesh, implicit): such an endpoint is not one of ours.
        public var otherFlags: UInt32

        public init(id: UInt8, endpoint: MptcpEndpoint, otherFlags: UInt32 = 0) {
            self.id = id
            self.endpoint = endpoint
            self.otherFlags = otherFlags
        }
    }

    public var endpoints: [Endpoint]
    public var limits: MptcpLimits

    public init(endpoints: [Endpoint], limits: MptcpLimits) {
        self.endpoints = endpoints
        self.limits = limits
    }
}
