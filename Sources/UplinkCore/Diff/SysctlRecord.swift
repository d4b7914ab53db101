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

    public init(entries: [Entry] = []) {
        self.entries = entries.sorted { $0.path.lexicographicallyPrecedes($1.path) }
    }

    public func entry(_ path: [String]) -> Entry? { entries.first { $0.path == path } }

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
        return SysctlRecord(entries: result)
    }

    /// The record once `changes` are made for `desired`: restored settings, and settings no
    /// longer wanted, leave it.
    public func updated(desired: [Sysctl], changes: [SysctlChange]) -> SysctlRecord {
        let wanted = Set(desired.map(\.path))
        return SysctlRecord(entries: including(changes).entries.filter { wanted.contains($0.path) })
    }
}
