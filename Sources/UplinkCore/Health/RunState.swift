/// What a running `uplinkctl run` says of itself, in its state file (rewritten whole, atomically):
/// who it is, what it runs, and each uplink's health. `status` reads it; `apply` and `flush`
/// refuse while its process lives, and name it.
public struct RunState: Sendable, Hashable, Codable {
    public var pid: Int32
    public var config: String
    /// Seconds since 1970.
    public var started: Double
    public var uplinks: [String: UplinkHealth]
    /// Each checked service backend's health, by its name (`api-2`).
    public var backends: [String: UplinkHealth]?
    /// The last reaction, as logged.
    public var lastEvent: String?

    public init(
        pid: Int32, config: String, started: Double, uplinks: [String: UplinkHealth],
        backends: [String: UplinkHealth] = [:], lastEvent: String? = nil
    ) {
        self.pid = pid
        self.config = config
        self.started = started
        self.uplinks = uplinks
        self.backends = backends
        self.lastEvent = lastEvent
    }
}
