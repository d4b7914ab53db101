import Glibc

/// Run as root, uplinkctl reads only a config that no other user can change (as sshd's
/// StrictModes): whoever can write the file, or rename it in its directory, decides this
/// host's routing. The file and every directory above it must be owned by root and not
/// writable by group or others; a directory with the sticky bit (/tmp) lets others create
/// files but not replace root's, so it passes.
public enum ConfigPermissions {
    /// Why the file at `path` is unsafe for root to act on, with the fix; nil when it is safe
    /// (or when the process is not root, which can change nothing a user could not).
    public static func problem(_ path: String, euid: uid_t = geteuid()) -> String? {
        guard euid == 0 else { return nil }
        // The file the kernel opens: absolute, every symlink resolved (a missing one is said elsewhere).
        guard let resolved = realpath(path, nil) else { return nil }
        var current = String(cString: resolved)
        free(resolved)
        if let problem = unsafe(current, directory: false) { return problem }
        repeat {
            current = parent(of: current)
            if let problem = unsafe(current, directory: true) { return problem }
        } while current != "/"
        return nil
    }

    /// `/etc/uplinkctl` for `/etc/uplinkctl/uplinks.yaml`, `/` for `/etc` (paths from realpath).
    private static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/"), slash != path.startIndex else { return "/" }
        return String(path[..<slash])
    }

    private static func unsafe(_ path: String, directory: Bool) -> String? {
        var status = stat()
        guard stat(path, &status) == 0 else { return nil }  // a missing file is said elsewhere
        let mode = status.st_mode & 0o7777
        let sticky = directory && mode & 0o1000 != 0
        let what = directory ? "directory \(path)" : path
        if status.st_uid != 0 {
            let fix = directory ? "chown root \(path)" : "chown root \(path) (or keep it where only root can write)"
            return
                "\(what) belongs to user \(status.st_uid), not root: that "
                + "user could change what uplinkctl installs; \(fix)"
        }
        if mode & 0o022 != 0 && !sticky {
            let who = mode & 0o002 != 0 ? "anyone" : "its group"
            return
                "\(what) can be changed by \(who) (mode \(String(mode, radix: 8))): "
                + "they could change what uplinkctl installs; chmod go-w \(path)"
        }
        return nil
    }
}
