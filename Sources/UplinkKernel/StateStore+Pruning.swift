import Foundation

/// Records and locks of namespaces that are gone. The store of a namespace uplinkctl was told
/// by name (`--netns`) is marked, in named/ beside the records, with that namespace's identity
/// (the device and inode of its nsfs file); when no /run/netns entry has that identity any
/// more, and no uplinkctl holds the namespace's lock, run claim or pending revert, its files go.
/// Only the marks are listed, not the records. The default namespace's files are never
/// marked, and no file uplinkctl did not write is touched; files written before marks existed
/// stay until /run is emptied at boot.
extension StateStore {
    /// What uplinkctl writes for a namespace, after its name (a pending revert's draft, which its
    /// writer removes, aside).
    static let ownSuffixes = [
        ".lock", ".sysctls.json", ".run", ".health.json", ".applied.json", ".pending.json",
        ".revert-failed.json"
    ]

    static func marks(in directory: String) -> String { directory + "/named" }

    /// A namespace as a file system object: /run/netns/NAME and /proc/PID/ns/net of one
    /// namespace show the same device and inode.
    struct NamespaceIdentity: Codable, Hashable {
        var device: UInt64
        var inode: UInt64

        init?(path: String) {
            var info = stat()
            guard stat(path, &info) == 0 else { return nil }
            device = UInt64(info.st_dev)
            inode = UInt64(info.st_ino)
        }
    }

    /// Which namespace a store's files belong to; the name is for people.
    struct NamespaceMark: Codable, Equatable {
        var name: String
        var identity: NamespaceIdentity
    }

    /// Marks this store as the named namespace's, unless that is the default namespace (pid 1's,
    /// where it can be read; a command without `--netns` marks nothing either).
    func mark(namespace name: String, in directory: String) {
        guard let identity = NamespaceIdentity(path: "/run/netns/\(name)"),
            identity != NamespaceIdentity(path: "/proc/1/ns/net")
        else { return }
        let mark = NamespaceMark(name: name, identity: identity)
        let marks = Self.marks(in: directory)
        let path = marks + "/" + (base as NSString).lastPathComponent
        if let data = FileManager.default.contents(atPath: path),
            (try? JSONDecoder().decode(NamespaceMark.self, from: data)) == mark
        {
            return
        }
        try? FileManager.default.createDirectory(atPath: marks, withIntermediateDirectories: true)
        try? writeJSON(mark, to: path)
    }

    /// Removes the files of every marked namespace that no longer exists. Best effort: what
    /// cannot be read or removed stays.
    public static func pruneGone(in directory: String = StateStore.directory) {
        let marks = marks(in: directory)
        guard let stems = try? FileManager.default.contentsOfDirectory(atPath: marks) else { return }
        let named = (try? FileManager.default.contentsOfDirectory(atPath: "/run/netns")) ?? []
        let alive = Set(named.compactMap { NamespaceIdentity(path: "/run/netns/\($0)") })
        let initial = NamespaceIdentity(path: "/proc/1/ns/net")
        for stem in stems where stem.hasPrefix("netns-") {
            guard let data = FileManager.default.contents(atPath: "\(marks)/\(stem)"),
                let mark = try? JSONDecoder().decode(NamespaceMark.self, from: data),
                mark.identity != initial, !alive.contains(mark.identity)
            else { continue }
            let base = "\(directory)/\(stem)"
            // A process may still work in it (its name gone, the namespace kept alive by it).
            guard let lock = freeLock(base + ".lock"), !isHeld(base + ".run"), !isHeld(base + ".pending.json") else {
                continue
            }
            defer { if lock >= 0 { close(lock) } }
            for suffix in ownSuffixes { unlink(base + suffix) }
            unlink("\(marks)/\(stem)")
        }
    }

    /// The lock taken without waiting: its descriptor, -1 when there is no lock file, nil when
    /// another process holds it.
    private static func freeLock(_ path: String) -> Int32? {
        let descriptor = open(path, O_RDWR | O_CLOEXEC)
        guard descriptor >= 0 else { return -1 }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            close(descriptor)
            return nil
        }
        return descriptor
    }

    /// Whether a process holds the file exclusively (a running `run`, an apply waiting for confirmation).
    private static func isHeld(_ path: String) -> Bool {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        return flock(descriptor, LOCK_SH | LOCK_NB) != 0
    }
}
