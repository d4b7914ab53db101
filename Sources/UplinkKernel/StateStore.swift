import Foundation
import UplinkCore

/// uplinkctl's own files under /run/uplinkctl, one pair per network namespace (by the inode of
/// the namespace): a lock, so that two applies cannot interleave, and the record of the
/// sysctl values it replaced, so that flush can put them back. /run is emptied at boot, as the
/// kernel state it describes is.
public final class StateStore {
    public static let directory = "/run/uplinkctl"
    private let base: String
    private var lockDescriptor: Int32 = -1

    public init(namespace: String?) throws {
        let inode = try NetworkNamespace.run(namespace) { () throws -> UInt64 in
            var info = stat()
            guard stat("/proc/thread-self/ns/net", &info) == 0 else {
                throw KernelRefusal(object: "network namespace", errno: errno, detail: nil)
            }
            return UInt64(info.st_ino)
        }
        try FileManager.default.createDirectory(atPath: Self.directory, withIntermediateDirectories: true)
        base = "\(Self.directory)/netns-\(inode)"
    }

    deinit { if lockDescriptor >= 0 { close(lockDescriptor) } }

    /// Waits for any other uplinkctl changing this namespace, then holds the lock until released.
    public func lock(waiting notice: () -> Void) throws {
        let descriptor = open(base + ".lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw KernelRefusal(object: base + ".lock", errno: errno, detail: nil) }
        lockDescriptor = descriptor
        if flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
            notice()
            guard flock(descriptor, LOCK_EX) == 0 else { throw KernelRefusal(object: base + ".lock", errno: errno, detail: nil) }
        }
    }

    public var record: SysctlRecord {
        guard let data = FileManager.default.contents(atPath: base + ".sysctls.json") else { return SysctlRecord() }
        return (try? JSONDecoder().decode(SysctlRecord.self, from: data)) ?? SysctlRecord()
    }

    public func save(_ record: SysctlRecord) throws {
        let path = base + ".sysctls.json"
        if record.originals.isEmpty {
            try? FileManager.default.removeItem(atPath: path)
            return
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(record).write(to: URL(fileURLWithPath: path), options: .atomic)
    }
}
