/// What the last apply (or `run`'s last reaction) installed: the config it came from, by path
/// and as text, and the kernel facts it was planned with. The plan itself is not written down:
/// planning is pure, so these give it back, and they are much quicker to write and read than
/// the plan's every type (most of an apply's own time, when it was stored). `status` describes
/// it when no config is given, or when the config given differs from what is installed; it is
/// trusted only while the kernel still holds exactly its plan.
public struct AppliedPlan: Sendable, Hashable, Codable {
    /// The config file's path (`<stdin>` for standard input).
    public var config: String
    /// Wall-clock time, for people.
    public var appliedAt: String
    /// The config's YAML as it was applied.
    public var text: String
    public var facts: PlanFacts

    public init(config: String, appliedAt: String, text: String, facts: PlanFacts) {
        self.config = config
        self.appliedAt = appliedAt
        self.text = text
        self.facts = facts
    }

    /// The plan it installed; nil when its text no longer reads as a valid config.
    public var plan: DesiredState? {
        (try? ConfigParser.parse(text, file: config).get()).map { Planner.plan($0, facts: facts) }
    }

    /// Whether it stands for `other`, whose plan is `plan`: the same file, and the same inputs
    /// (so the same plan), or other inputs that plan the same.
    public func matches(_ other: AppliedPlan, plan: DesiredState) -> Bool {
        config == other.config && ((text == other.text && facts == other.facts) || self.plan == plan)
    }
}
