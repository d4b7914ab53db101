/// The pure heart of apply, diff and flush: the changes that turn the live state into the
/// desired one (nil desired: nothing of ours left, sysctls put back).
public enum StateDiff {
    public static func changes(from live: LiveState, to desired: DesiredState?, record: SysctlRecord) -> ChangeSet {
        var changes = ChangeSet()
        let wantedRules = desired?.rules ?? []
        let wantedRoutes = desired?.routes ?? []
        let newRoutes = wantedRoutes.filter { !live.routes.contains($0) }
        let oldRoutes = live.routes.filter { !wantedRoutes.contains($0) }
        // The same table and destination by another way: replaced in place, never missing.
        changes.routesToReplace = newRoutes.compactMap { new in
            oldRoutes.first { $0.table == new.table && $0.destination == new.destination }.map {
                RouteReplacement(old: $0, new: new)
            }
        }
        changes.routesToAdd = newRoutes.filter { new in !changes.routesToReplace.contains { $0.new == new } }
        changes.routesToDelete = oldRoutes.filter { old in !changes.routesToReplace.contains { $0.old == old } }
        changes.rulesToAdd = wantedRules.filter { !live.rules.contains($0) }
        changes.rulesToDelete = live.rules.filter { !wantedRules.contains($0) }
        changes.unknownRulesToDelete = live.unknownRules
        changes.nftables = NftDiff.changes(from: live.nftables, to: desired?.nftables)
        changes.sysctls = sysctlChanges(current: live.sysctls, desired: desired?.sysctls ?? [], record: record)
        mptcpChanges(live: live.mptcp, desired: desired?.mptcp, record: record, into: &changes)
        return changes
    }

    /// Endpoints by difference (one whose flags changed is replaced); limits written when they
    /// differ, and put back, once MPTCP is no longer wanted, while they still hold ours.
    static func mptcpChanges(
        live: LiveMptcp?, desired: MptcpPlan?, record: SysctlRecord,
        into changes: inout ChangeSet
    ) {
        guard let live else { return }
        let wanted = desired?.endpoints ?? []
        changes.mptcpEndpointsToAdd = wanted.filter { endpoint in !live.endpoints.contains { $0.endpoint == endpoint } }
        changes.mptcpEndpointsToDelete = live.endpoints.filter { !wanted.contains($0.endpoint) }
        if let desired {
            if live.limits != desired.limits {
                changes.mptcpLimits = MptcpLimitsChange(value: desired.limits, previous: live.limits, isRestore: false)
            }
        } else if let original = record.mptcp?.originalLimits, live.limits == record.mptcp?.writtenLimits,
            live.limits != original
        {
            changes.mptcpLimits = MptcpLimitsChange(value: original, previous: live.limits, isRestore: true)
        }
    }

    static func sysctlChanges(current: [Sysctl], desired: [Sysctl], record: SysctlRecord) -> [SysctlChange] {
        func now(_ path: [String]) -> String? { current.first { $0.path == path }?.value }
        var result: [SysctlChange] = []
        for setting in desired where now(setting.path) != setting.value {
            result.append(
                SysctlChange(path: setting.path, value: setting.value, previous: now(setting.path), isRestore: false))
        }
        let wanted = Set(desired.map(\.path))
        for entry in record.entries where !wanted.contains(entry.path) {
            // Put back only what still holds our value: a setting changed since is not ours any more.
            guard let value = now(entry.path), value == entry.written, value != entry.original else { continue }
            result.append(SysctlChange(path: entry.path, value: entry.original, previous: value, isRestore: true))
        }
        return result
    }
}
