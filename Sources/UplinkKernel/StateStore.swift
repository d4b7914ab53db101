import Foundation
import UplinkCore

/// uplinkctl's own files under /run/uplinkctl, one pair per network namespace: a lock, so that
/// two applies cannot interleave, and the record of the sysctl values it replaced, so that
/// flush can put them back. A namespace is named by its cookie (SO_NETNS_COOKIE, never reused
/// while the machine runs; Linux 5.14+), else by its inode, which a later namespace may reuse:
/// the commands drop a record when nothing of ours is installed. /run is emptied at boot, as
/// the kernel state it describes is.
public final class StateStore {
    public static let directory = "/run/uplinkctl"
    private let base: String
    private var lockDescriptor: Int32 = -1

    public init(namespace: String?) throws {
        let name = try NetworkNamespace.run(namespace) { () throws -> String in
            let probe = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            if probe >= 0 {
                defer { close(probe) }
                var cookie: UInt64 = 0
                var length = socklen_t(MemoryLayout<UInt64>.size)
                if getsockopt(probe, SOL_SOCKET, 71 /* SO_NETNS_COOKIE */, &cookie, &length) == 0 { return "netns-cookie-\(cookie)" }
            }
            var info = stat()
            guard stat("/proc/thread-self/ns/net", &info) == 0 else {
                throw KernelRefusal(object: "network namespace", errno: errno, detail: nil)
            }
            return "netns-inode-\(info.st_ino)"
        }
        try FileManager.default.createDirectory(atPath: Self.directory, withIntermediateDirectories: true)
        base = "\(Self.directory)/\(name)"
    }

    deinit { if lockDescriptor >= 0 { close(lockDescriptor) } }

    /// Waits for any other uplinkctl changing this namespace, then holds the lock until `unlock`.
    public func lock(waiting notice: () -> Void) throws {
        let descriptor = open(base + ".lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw KernelRefusal(object: base + ".lock", errno: errno, detail: nil) }
        lockDescriptor = descriptor
        if flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
            notice()
            guard flock(descriptor, LOCK_EX) == 0 else {
                unlock()
                throw KernelRefusal(object: base + ".lock", errno: errno, detail: nil)
            }
        }
    }

    /// Lets the next uplinkctl in (closing the descriptor releases the lock).
    public func unlock() {
        guard lockDescriptor >= 0 else { return }
        close(lockDescriptor)
        lockDescriptor = -1
    }

    /// The record; an unreadable one is an error, not an empty record (that would forget originals).
    public func record() throws -> SysctlRecord {
        let path = base + ".sysctls.json"
        guard let data = FileManager.default.contents(atPath: path) else { return SysctlRecord() }
        do {
            return try JSONDecoder().decode(SysctlRecord.self, from: data)
        } catch {
            throw KernelRefusal(object: path, errno: EINVAL, detail: "not a record uplinkctl can read (\(error)); move it away to start afresh")
        }
    }

    public func save(_ record: SysctlRecord) throws {
        let path = base + ".sysctls.json"
        if record.entries.isEmpty {
            try? FileManager.default.removeItem(atPath: path)
            return
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(record).write(to: URL(fileURLWithPath: path), options: .atomic)
    }
}
