import Foundation
import UplinkCore

/// The pending revert of an apply that waits for confirmation, held by that apply: an
/// exclusive lock on the file tells every other uplinkctl that its owner still lives.
public final class PendingClaim {
    public let revert: PendingRevert
    let path: String
    private var descriptor: Int32
    private let inode: ino_t

    init(revert: PendingRevert, path: String, descriptor: Int32, inode: ino_t) {
        self.revert = revert
        self.path = path
        self.descriptor = descriptor
        self.inode = inode
    }

    deinit { release() }

    /// Still waiting: the file this apply wrote is there (confirm and a revert remove it).
    public var isPending: Bool {
        var info = stat()
        return stat(path, &info) == 0 && info.st_ino == inode
    }

    func release() {
        if descriptor >= 0 { close(descriptor) }
        descriptor = -1
    }
}

extension StateStore {
    var pendingPath: String { base + ".pending.json" }

    /// Writes `revert` and keeps it locked for as long as the claim lives. The file is written,
    /// locked and synced under another name and then linked into place, so that whoever sees
    /// it sees it whole and locked. Called under the namespace's lock.
    func claimPending(_ revert: PendingRevert) throws -> PendingClaim {
        let path = pendingPath
        let draft = path + ".\(getpid()).draft"
        let descriptor = open(draft, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw KernelRefusal(object: draft, errno: errno, detail: nil) }
        defer { unlink(draft) }
        var info = stat()
        fstat(descriptor, &info)
        let claim = PendingClaim(revert: revert, path: path, descriptor: descriptor, inode: info.st_ino)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let bytes = Array(try encoder.encode(revert))
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0,
            bytes.withUnsafeBytes({ write(descriptor, $0.baseAddress, $0.count) }) == bytes.count,
            fsync(descriptor) == 0, link(draft, path) == 0
        else {
            throw KernelRefusal(object: path, errno: errno, detail: nil)
        }
        return claim
    }

    /// Whether a pending revert exists (without reading it: that is done under the lock).
    var hasPending: Bool { access(pendingPath, F_OK) == 0 }

    /// The pending revert, if there is one, and whether the apply that wrote it still waits.
    func pending() throws -> (revert: PendingRevert, ownerAlive: Bool)? {
        let path = pendingPath
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            if errno == ENOENT { return nil }
            throw KernelRefusal(object: path, errno: errno, detail: "an apply waits for confirmation there")
        }
        defer { close(descriptor) }
        let ownerAlive = flock(descriptor, LOCK_SH | LOCK_NB) != 0
        var data: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count <= 0 { break }
            data += chunk[..<count]
        }
        guard let revert = try? JSONDecoder().decode(PendingRevert.self, from: Data(data)) else {
            throw KernelRefusal(
                object: path, errno: EINVAL,
                detail: "not a pending revert uplinkctl can read; move it away to go on without it")
        }
        return (revert, ownerAlive)
    }

    func removePending() { unlink(pendingPath) }

    /// A revert that failed: its file is kept for a person to read, out of every command's way.
    func setAsideFailedRevert() -> String {
        let kept = base + ".revert-failed.json"
        rename(pendingPath, kept)
        return kept
    }
}
