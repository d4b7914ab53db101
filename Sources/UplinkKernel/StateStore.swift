import CNetlink
import Foundation
import UplinkCore

/// uplinkctl's own files under /run/uplinkctl, per network namespace: a lock, so that two
/// applies cannot interleave, and the record of the sysctl values it replaced, so that flush
/// can put them back (and what the last apply installed, a running `run`'s claim and state, an
/// apply's pending revert). A namespace is named by its cookie (SO_NETNS_COOKIE, never reused
/// while the machine runs; Linux 5.14+), else by its inode, which a later namespace may reuse:
/// the commands drop a record when nothing of ours is installed. The files of a named
/// namespace that is gone are removed when a store is opened (StateStore+Pruning.swift); /run
/// is emptied at boot, as the kernel state it describes is. A unit with `RuntimeDirectory=uplinkctl` hands over the
/// same directory in $RUNTIME_DIRECTORY, made writable for its user.
public final class StateStore {
    public static var directory: String {
        // Only a directory meant for uplinkctl: run from another unit, it must still find the
        // same lock and records as everyone else.
        let handed = ProcessInfo.processInfo.environment["RUNTIME_DIRECTORY"]?.split(separator: ":").map(String.init)
        return handed?.first { $0.hasSuffix("/uplinkctl") } ?? "/run/uplinkctl"
    }
    let base: String
    private var lockDescriptor: Int32 = -1

    public convenience init(namespace: String?) throws {
        let name = try NetworkNamespace.run(namespace) { () throws -> String in
            let probe = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            if probe >= 0 {
                defer { close(probe) }
                var cookie: UInt64 = 0
                var length = socklen_t(MemoryLayout<UInt64>.size)
                if getsockopt(probe, SOL_SOCKET, 71 /* SO_NETNS_COOKIE */, &cookie, &length) == 0 {
                    return "netns-cookie-\(cookie)"
                }
            }
            var info = stat()
            guard stat("/proc/thread-self/ns/net", &info) == 0 else {
                throw KernelRefusal(object: "network namespace", errno: errno, detail: nil)
            }
            return "netns-inode-\(info.st_ino)"
        }
        let directory = Self.directory
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw KernelRefusal(object: directory, errno: EACCES, detail: Self.unwritable)
        }
        guard access(directory, W_OK) == 0 else {
            throw KernelRefusal(object: directory, errno: EACCES, detail: Self.unwritable)
        }
        self.init(base: "\(directory)/\(name)")
        if let namespace { mark(namespace: namespace, in: directory) }
        Self.pruneGone(in: directory)
    }

    /// The files `base`.lock, `base`.sysctls.json and so on.
    init(base: String) {
        self.base = base
    }

    /// Without root, the lock and records need a directory this user may write.
    static let unwritable =
        "uplinkctl keeps its lock and records there; "
        + "run it as root, or make the directory this user's "
        + "(a systemd unit: RuntimeDirectory=uplinkctl, which also sets $RUNTIME_DIRECTORY)"

    deinit {
        if lockDescriptor >= 0 { close(lockDescriptor) }
        if runDescriptor >= 0 { close(runDescriptor) }
    }

    /// Holds the lock until `unlock`. When another uplinkctl is changing this namespace,
    /// `waiting` is told and the lock waited for; without `waiting`, LockBusy is thrown at once
    /// (`run`, whose loop must not stall, tries again shortly).
    public func lock(waiting notice: (() -> Void)?) throws {
        let descriptor = open(base + ".lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw KernelRefusal(object: base + ".lock", errno: errno, detail: nil) }
        lockDescriptor = descriptor
        if flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
            guard let notice else {
                unlock()
                throw LockBusy()
            }
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
            throw KernelRefusal(
                object: path, errno: EINVAL,
                detail: "not a record uplinkctl can read (\(error)); move it away to start afresh")
        }
    }

    // MARK: A running `uplinkctl run`

    private var runDescriptor: Int32 = -1

    /// Claims the namespace for this process's `run`, for as long as it lives; a second `run`
    /// gets the first one's pid instead. Another command that looks whether a run holds the
    /// namespace (`runningProcess`) holds the file shared for a moment: that is waited for, a
    /// second at most.
    public func claimRun() throws {
        let path = base + ".run"
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw KernelRefusal(object: path, errno: errno, detail: nil) }
        let giveUp = MonotonicClock.now() + 1000
        while flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
            let holder = runningProcess()
            guard holder == nil, MonotonicClock.now() < giveUp else {
                close(descriptor)
                throw AlreadyRunning(pid: holder ?? 0)
            }
            usleep(10_000)
        }
        runDescriptor = descriptor
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(descriptor, 0)
        _ = pid.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, 0) }
    }

    /// The pid of the `run` that holds this namespace, if one does.
    public func runningProcess() -> Int32? {
        let path = base + ".run"
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        // Free to take: nobody runs (the file is left over from an earlier run).
        if flock(descriptor, LOCK_SH | LOCK_NB) == 0 { return nil }
        var buffer = [UInt8](repeating: 0, count: 32)
        let count = buffer.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, $0.count, 0) }
        return count > 0
            ? Int32(String(decoding: buffer[..<count], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
            : nil
    }

    /// What the running `run` wrote last, if a `run` holds this namespace.
    public func runState() -> RunState? {
        guard runningProcess() != nil,
            let data = FileManager.default.contents(atPath: base + ".health.json")
        else { return nil }
        return try? JSONDecoder().decode(RunState.self, from: data)
    }

    public func save(_ state: RunState) throws {
        try writeJSON(state, to: base + ".health.json")
    }

    /// At the end of `run`: the state file goes, the claim is released.
    public func releaseRun() {
        try? FileManager.default.removeItem(atPath: base + ".health.json")
        if runDescriptor >= 0 { close(runDescriptor) }
        runDescriptor = -1
    }

    // MARK: What the last apply installed

    /// What the last apply installed, if it was written and can be read (it only describes).
    public func applied() -> AppliedPlan? {
        FileManager.default.contents(atPath: base + ".applied.json").flatMap {
            try? JSONDecoder().decode(AppliedPlan.self, from: $0)
        }
    }

    /// Nil removes it (after a flush).
    public func save(_ applied: AppliedPlan?) throws {
        try writeJSON(applied, to: base + ".applied.json")
    }

    /// An empty record removes the file.
    public func save(_ record: SysctlRecord) throws {
        try writeJSON(record.isEmpty ? nil : record, to: base + ".sysctls.json", pretty: true)
    }

    /// Replaces the file at `path` atomically with `value` as JSON; nil removes it.
    func writeJSON<Value: Encodable>(_ value: Value?, to path: String, pretty: Bool = false) throws {
        guard let value else {
            unlink(path)
            return
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.prettyPrinted, .sortedKeys] : [.sortedKeys]
        try Self.replace(path, with: encoder.encode(value))
    }

    /// Written whole under another name, then renamed into place: a reader sees the old file or
    /// the new one. Not synced to disk: /run goes at boot, with the kernel state it describes.
    private static func replace(_ path: String, with data: Data) throws {
        let draft = path + ".\(getpid()).new"
        let descriptor = open(draft, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw KernelRefusal(object: draft, errno: errno, detail: nil) }
        var written = 0
        var failure: Int32 = 0
        data.withUnsafeBytes { bytes in
            while written < bytes.count {
                let count = Glibc.write(descriptor, bytes.baseAddress! + written, bytes.count - written)
                guard count > 0 else {
                    failure = errno
                    return
                }
                written += count
            }
        }
        close(descriptor)
        guard written == data.count, rename(draft, path) == 0 else {
            let error = failure != 0 ? failure : errno
            unlink(draft)
            throw KernelRefusal(object: path, errno: error, detail: nil)
        }
    }
}

/// Another `uplinkctl run` manages this namespace.
public struct AlreadyRunning: Error, CustomStringConvertible {
    public let pid: Int32
    public var description: String {
        "uplinkctl run (pid \(pid)) already manages this namespace; edit its config "
            + "and reload it (kill -HUP \(pid), or systemctl reload uplinkctl)"
    }
}
