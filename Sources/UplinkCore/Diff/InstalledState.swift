/// What uplinkctl had installed at one moment, kept so that it can be put back exactly
/// (`apply --confirm`): our rules and routes, our nft table in the model's form, and the values
/// of the sysctls the next change may touch.
public struct InstalledState: Sendable, Hashable, Codable {
    public var rules: [RoutingRule]
    public var routes: [Route]
    /// Nil when the table did not exist.
    public var nftables: NftTable?
    public var sysctls: [Sysctl]
    /// Our MPTCP endpoints and the limits (nil: no MPTCP in the kernel).
    public var mptcp: MptcpPlan?

    public init(
        rules: [RoutingRule], routes: [Route], nftables: NftTable?, sysctls: [Sysctl],
        mptcp: MptcpPlan? = nil
    ) {
        self.rules = rules
        self.routes = routes
        self.nftables = nftables
        self.sysctls = sysctls
        self.mptcp = mptcp
    }

    /// The live state, when every part of it is in the model (what uplinkctl itself wrote);
    /// otherwise what could not be put back exactly.
    public static func of(_ live: LiveState) -> Result<InstalledState, NotRestorable> {
        var parts: [String] = []
        if !live.unknownRules.isEmpty {
            parts.append("\(live.unknownRules.count) ip rules with selectors uplinkctl does not write")
        }
        if let table = live.nftables {
            if !table.unreadableSets.isEmpty {
                parts.append("sets of another kind (\(table.unreadableSets.joined(separator: ", ")))")
            }
            for chain in table.chains where !chain.hookReadable { parts.append("chain \(chain.name) of another kind") }
            let foreign = table.chains.reduce(0) { $0 + $1.rules.filter { $0.rule == nil }.count }
            if foreign > 0 { parts.append("\(foreign) nft rules uplinkctl does not write") }
        }
        guard parts.isEmpty else { return .failure(NotRestorable(parts: parts)) }
        let mptcp = live.mptcp.map { MptcpPlan(endpoints: $0.endpoints.map(\.endpoint), limits: $0.limits) }
        return .success(
            InstalledState(
                rules: live.rules, routes: live.routes, nftables: live.nftables?.model,
                sysctls: live.sysctls, mptcp: mptcp))
    }
}

/// Our part of the kernel holds objects that uplinkctl could not write back as they are.
public struct NotRestorable: Error, CustomStringConvertible {
    public let parts: [String]
    public var description: String {
        "what is installed now could not be put back exactly (\(parts.joined(separator: "; "))); "
            + "apply once without --confirm, or flush, first"
    }
}

extension StateDiff {
    /// The changes that put `state` back over `live`: rules and routes by difference, the nft
    /// table rebuilt whole in one transaction (so that `nft list` shows it in its old order;
    /// counters restart from zero) unless it is already the same, each sysctl to its old value.
    public static func restoration(of state: InstalledState, over live: LiveState) -> ChangeSet {
        let wanted = DesiredState(
            uplinks: [], rules: state.rules, routes: state.routes,
            nftables: state.nftables ?? NftTable(), sysctls: [], mptcp: state.mptcp)
        var changes = StateDiff.changes(from: live, to: wanted, record: SysctlRecord())
        let same =
            live.nftables.map { $0.unreadableSets.isEmpty && $0.model == state.nftables }
            ?? (state.nftables == nil)
        changes.nftables = same ? [] : NftDiff.restoration(of: state.nftables, replacing: live.nftables != nil)
        changes.sysctls = state.sysctls.compactMap { old in
            let now = live.sysctls.first { $0.path == old.path }?.value
            return now == old.value
                ? nil : SysctlChange(path: old.path, value: old.value, previous: now, isRestore: false)
        }
        return changes
    }
}
