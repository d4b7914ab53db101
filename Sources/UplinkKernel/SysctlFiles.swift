import Foundation
import UplinkCore

/// /proc/sys read and written from inside the namespace: the kernel resolves /proc/sys/net
/// against the network namespace of the thread that opens the file.
struct SysctlFiles: SysctlAccess {
    let namespace: String?

    /// The current values of the settings that exist, read in one visit to the namespace.
    func read(_ paths: [[String]]) throws -> [Sysctl] {
        try NetworkNamespace.run(namespace) {
            paths.compactMap { path in
                (try? String(contentsOfFile: Sysctl(path, "").procPath, encoding: .utf8))
                    .map { Sysctl(path, $0.trimmingCharacters(in: .whitespacesAndNewlines)) }
            }
        }
    }

    func write(_ path: [String], _ value: String) throws {
        let file = Sysctl(path, value).procPath
        try NetworkNamespace.run(namespace) {
            guard let handle = FileHandle(forWritingAtPath: file) else {
                throw KernelRefusal(
                    object: shellCommand(IPCommands.sysctl(Sysctl(path, value))), errno: ENOENT, detail: "no \(file)")
            }
            defer { try? handle.close() }
            do {
                try handle.write(contentsOf: Data((value + "\n").utf8))
            } catch {
                throw KernelRefusal(
                    object: shellCommand(IPCommands.sysctl(Sysctl(path, value))), errno: EINVAL, detail: "\(error)")
            }
        }
    }
}
