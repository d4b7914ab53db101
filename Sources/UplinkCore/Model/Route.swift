/// One route in one of uplinkctl's tables, carrying uplinkctl's protocol tag.
public struct Route: Sendable, Hashable, Codable, Comparable {
    public var table: UInt32
    public var destination: IPPrefix
    /// One next hop, or several for a weighted multipath route.
    public var nexthops: [Nexthop]
    /// The routing realm (IPv4 only): nft's `rt classid` tells which of our tables routed a
    /// packet before uplinkctl marked it, which is how a socket bound to an uplink's address shows.
    public var realm: UInt16?

    public var family: IPFamily { destination.family }
    public var isMultipath: Bool { nexthops.count > 1 }

    public init(table: UInt32, destination: IPPrefix, nexthops: [Nexthop], realm: UInt16? = nil) {
        self.table = table
        self.destination = destination
        self.nexthops = nexthops
        self.realm = realm
    }

    /// A single-path route.
    public init(table: UInt32, destination: IPPrefix, gateway: IPAddress?, device: String, realm: UInt16? = nil) {
        self.init(
            table: table, destination: destination, nexthops: [Nexthop(gateway: gateway, device: device)], realm: realm)
    }

    public static func < (a: Route, b: Route) -> Bool {
        (a.family, a.table, a.destination) < (b.family, b.table, b.destination)
    }
}

/// Where a route sends packets: through a gateway, or straight out of a device.
public struct Nexthop: Sendable, Hashable, Codable, CustomStringConvertible {
    /// Nil for a route by device only (a point-to-point link).
    public var gateway: IPAddress?
    public var device: String
    /// Relative share in a multipath route (1 to 256); 1 on a single-path route.
    public var weight: Int

    public init(gateway: IPAddress?, device: String, weight: Int = 1) {
        self.gateway = gateway
        self.device = device
        self.weight = weight
    }

    /// `via GW dev DEV`, as `ip route` says it.
    public var description: String {
        (gateway.map { "via \($0) " } ?? "") + "dev \(device)"
    }
}
