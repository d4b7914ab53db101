/// An apply that waits for `uplinkctl confirm`: written before the change is made, so that
/// whoever finds it once its owner is gone (killed, or the machine's link to its user cut)
/// can put back what was installed before.
public struct PendingRevert: Sendable, Hashable, Codable {
    /// The `uplinkctl apply --confirm` that waits; it holds a lock on the file while it lives.
    public var pid: Int32
    /// `apply`, or `reload` (of `uplinkctl run --confirm-reload`).
    public var kind: String
    public var config: String
    /// Wall-clock time, for people.
    public var appliedAt: String
    public var seconds: Int
    /// Seconds on CLOCK_BOOTTIME, which no clock setting moves, by which it must be confirmed.
    public var deadline: Double
    /// What to put back, and the sysctl record that went with it.
    public var previous: InstalledState
    public var record: SysctlRecord
    /// What `status` said was installed before.
    public var previousPlan: AppliedPlan?

    public init(
        pid: Int32, kind: String, config: String, appliedAt: String, seconds: Int, deadline: Double,
        previous: InstalledState, record: SysctlRecord, previousPlan: AppliedPlan?
    ) {
        self.pid = pid
        self.kind = kind
        self.config = config
        self.appliedAt = appliedAt
        self.seconds = seconds
        self.deadline = deadline
        self.previous = previous
        self.record = record
        self.previousPlan = previousPlan
    }

    /// How people are told about it.
    public var summary: String { "the \(kind) of \(config) at \(appliedAt) (pid \(pid), confirm within \(seconds) s)" }
}
