/// One network interface as the kernel reports it.
public struct InterfaceState: Sendable, Hashable {
    public let name: String
    public let index: UInt32
    /// Administratively up (`ip link set NAME up`).
    public let isUp: Bool
    /// Carrier present (IFF_LOWER_UP): a cable, an associated radio, a peer.
    public let hasCarrier: Bool
    /// The networks on it, IPv4 and IPv6 (and a point-to-point peer); no IPv6 link-local.
    public var addresses: [IPPrefix] = []
    /// Its own addresses (not a peer's), as assigned: what a socket can bind to.
    public var localAddresses: [IPAddress] = []
    /// The kernel's own counters of the interface since it was created.
    public var received = Traffic()
    public var sent = Traffic()

    public struct Traffic: Sendable, Hashable, Codable {
        public var packets: UInt64 = 0
        public var bytes: UInt64 = 0
        public init(packets: UInt64 = 0, bytes: UInt64 = 0) {
            self.packets = packets
            self.bytes = bytes
        }
    }

    public init(name: String, index: UInt32, isUp: Bool, hasCarrier: Bool) {
        self.name = name
        self.index = index
        self.isUp = isUp
        self.hasCarrier = hasCarrier
    }
}
