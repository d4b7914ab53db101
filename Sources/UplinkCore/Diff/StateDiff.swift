/// The pure heart of apply, diff and flush: the changes that turn the live state into the
/// desired one (nil desired: nothing of ours left, sysctls put back).
public enum StateDiff {
    public static func changes(from live: LiveState, to desired: DesiredState?, record: SysctlRecord) -> ChangeSet {
        var changes = ChangeSet()
        let wantedRules = desired?.rules ?? []
        let wantedRoutes = desired?.routes ?? []
        changes.routesToAdd = wantedRoutes.filter { !live.routes.contains($0) }
        changes.rulesToAdd = wantedRules.filter { !live.rules.contains($0) }
        changes.rulesToDelete = live.rules.filter { !wantedRules.contains($0) }
        changes.routesToDelete = live.routes.filter { !wantedRoutes.contains($0) }
        changes.nftables = NftDiff.changes(from: live.nftables, to: desired?.nftables)
        changes.sysctls = sysctlChanges(current: live.sysctls, desired: desired?.sysctls ?? [], record: record)
        return changes
    }

    static func sysctlChanges(current: [Sysctl], desired: [Sysctl], record: SysctlRecord) -> [SysctlChange] {
        func now(_ path: [String]) -> String? { current.first { $0.path == path }?.value }
        var result: [SysctlChange] = []
        for setting in desired where now(setting.path) != setting.value {
            result.append(SysctlChange(path: setting.path, value: setting.value, previous: now(setting.path), isRestore: false))
        }
        let wanted = Set(desired.map(\.path))
        for original in record.originals where !wanted.contains(original.path) {
            // A setting whose interface is gone has nothing to restore.
            guard let value = now(original.path), value != original.value else { continue }
            result.append(SysctlChange(path: original.path, value: original.value, previous: value, isRestore: true))
        }
        return result
    }
}
