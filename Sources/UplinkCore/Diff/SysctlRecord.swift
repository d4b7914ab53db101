/// The sysctls uplinkctl changed: the value each had before and the value uplinkctl wrote, so
/// that flush (or an apply that no longer needs a setting) puts back the old value, and only
/// while the setting still holds what uplinkctl wrote. Settings it did not change are not in it.
public struct SysctlRecord: Sendable, Hashable, Codable {
    public struct Entry: Sendable, Hashable, Codable {
        public var path: [String]
        public var original: String
        public var written: String

        public init(path: [String], original: String, written: String) {
            self.path = path
            self.original = original
            self.written = written
        }
    }

    public var entries: [Entry]
    /// The MPTCP endpoints uplinkctl added and the limits it replaced.
    public var mptcp: MptcpRecord?

    public init(entries: [Entry] = [], mptcp: MptcpRecord? = nil) {
        self.entries = entries.sorted { $0.path.lexicographicallyPrecedes($1.path) }
        self.mptcp = mptcp
    }

    /// Nothing recorded.
    public var isEmpty: Bool { entries.isEmpty && mptcp == nil }

    /// Before `changes` are made: the endpoints about to be added count as ours already (so
    /// that a crash half-way cannot orphan one), and the limits' first original is kept.
    public func including(_ changes: ChangeSet) -> SysctlRecord {
        var result = including(changes.sysctls)
        var mptcp = self.mptcp ?? MptcpRecord()
        mptcp.endpoints = (mptcp.endpoints + changes.mptcpEndpointsToAdd).uniqued()
        if let limits = changes.mptcpLimits, !limits.isRestore {
            if mptcp.originalLimits == nil { mptcp.originalLimits = limits.previous }
            mptcp.writtenLimits = limits.value
        }
        result.mptcp = mptcp.isEmpty ? nil : mptcp
        return result
    }

    /// Once `changes` are made for `desired`: what was removed or put back leaves the record.
    public func updated(desired: DesiredState?, changes: ChangeSet) -> SysctlRecord {
        var result = including(changes)
        let wanted = Set((desired?.sysctls ?? []).map(\.path))
        result.entries = result.entries.filter { wanted.contains($0.path) }
        guard var mptcp = result.mptcp else { return result }
        mptcp.endpoints = mptcp.endpoints.filter { desired?.mptcp?.endpoints.contains($0) ?? false }
        if desired?.mptcp == nil {
            mptcp.originalLimits = nil
            mptcp.writtenLimits = nil
        }
        result.mptcp = mptcp.isEmpty ? nil : mptcp
        return result
    }

    public func entry(_ path: [String]) -> Entry? { entries.first { $0.path == path } }

    /// Whether a setting in `live` still holds what this record says uplinkctl wrote over its
    /// original (as after an undo that failed): then the record is needed to put it back.
    public func isHeld(in live: LiveState) -> Bool {
        let written = entries.contains { entry in
            entry.written != entry.original
                && live.sysctls.contains { $0.path == entry.path && $0.value == entry.written }
        }
        guard let mptcp, let limits = mptcp.writtenLimits, mptcp.originalLimits != limits else { return written }
        return written || live.mptcp?.limits == limits
    }

    /// The record to hold while `changes` are being made: what it held, plus the original of
    /// every setting about to be changed for the first time (saved before the write, so a
    /// crash half-way cannot lose it).
    public func including(_ changes: [SysctlChange]) -> SysctlRecord {
        var result = entries
        for change in changes where !change.isRestore {
            if let index = result.firstIndex(where: { $0.path == change.path }) {
                result[index].written = change.value
            } else if let previous = change.previous {
                result.append(Entry(path: change.path, original: previous, written: change.value))
            }
        }
        return SysctlRecord(entries: result, mptcp: mptcp)
    }

    /// The record once `changes` are made for `desired`: restored settings, and settings no
    /// longer wanted, leave it.
    public func updated(desired: [Sysctl], changes: [SysctlChange]) -> SysctlRecord {
        let wanted = Set(desired.map(\.path))
        return SysctlRecord(entries: including(changes).entries.filter { wanted.contains($0.path) }, mptcp: mptcp)
    }
}

/// What uplinkctl did to the MPTCP path manager: the endpoints it added (its own: others are
/// never touched), and the limits it found and wrote.
public struct MptcpRecord: Sendable, Hashable, Codable {
    public var endpoints: [MptcpEndpoint] = []
    public var originalLimits: MptcpLimits?
    public var writtenLimits: MptcpLimits?

    public init(
        endpoints: [MptcpEndpoint] = [], originalLimits: MptcpLimits? = nil,
        writtenLimits: MptcpLimits? = nil
    ) {
        self.endpoints = endpoints
        self.originalLimits = originalLimits
        self.writtenLimits = writtenLimits
    }

    var isEmpty: Bool { endpoints.isEmpty && originalLimits == nil }
}
