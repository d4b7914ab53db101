/// The values sysctls had before uplinkctl changed them, so that flush (or an apply that no
/// longer needs a setting) can put them back. Only settings uplinkctl actually changed are in it.
public struct SysctlRecord: Sendable, Hashable, Codable {
    public var originals: [Sysctl]

    public init(originals: [Sysctl] = []) {
        self.originals = originals.sorted()
    }

    public func original(_ path: [String]) -> Sysctl? { originals.first { $0.path == path } }

    /// The record after `changes` were made for `desired`: new changes remember the value they
    /// replaced; restored settings and settings no longer wanted leave it.
    public func updated(desired: [Sysctl], changes: [SysctlChange]) -> SysctlRecord {
        let wanted = Set(desired.map(\.path))
        var kept = originals.filter { wanted.contains($0.path) }
        for change in changes where !change.isRestore && original(change.path) == nil {
            if let previous = change.previous { kept.append(Sysctl(change.path, previous)) }
        }
        return SysctlRecord(originals: kept)
    }
}
