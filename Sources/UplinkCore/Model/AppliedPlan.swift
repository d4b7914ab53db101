/// What the last apply (or `run`'s last reaction) installed: the plan, and the config it came
/// from. `status` describes it when no config is given, or when the config given differs from
/// what is installed; it is trusted only while the kernel still holds exactly this plan.
public struct AppliedPlan: Sendable, Hashable, Codable {
    /// The config file's path (`<stdin>` for standard input).
    public var config: String
    /// Wall-clock time, for people.
    public var appliedAt: String
    public var plan: DesiredState

    public init(config: String, appliedAt: String, plan: DesiredState) {
        self.config = config
        self.appliedAt = appliedAt
        self.plan = plan
    }
}
