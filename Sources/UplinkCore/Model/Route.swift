/// One route in one of uplinkctl's tables, carrying uplinkctl's protocol tag.
public struct Route: Sendable, Hashable, Codable, Comparable {
    public var table: UInt32
    public var destination: IPPrefix
    /// Nil for a route by device only (a point-to-point link).
    public var gateway: IPAddress?
    public var device: String

    public var family: IPFamily { destination.family }

    public init(table: UInt32, destination: IPPrefix, gateway: IPAddress?, device: String) {
        self.table = table
        self.destination = destination
        self.gateway = gateway
        self.device = device
    }

    public static func < (a: Route, b: Route) -> Bool {
        (a.family, a.table, a.destination) < (b.family, b.table, b.destination)
    }
}
