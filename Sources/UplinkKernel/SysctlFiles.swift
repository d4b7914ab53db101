import Foundation
import UplinkCore

/// /proc/sys read and written from inside the namespace: the kernel resolves /proc/sys/net
/// against the network namespace of the thread that opens the file.
struct SysctlFiles {
    let namespace: String?

    func read(_ path: [String]) throws -> String? {
        try NetworkNamespace.run(namespace) {
            (try? String(contentsOfFile: Sysctl(path, "").procPath, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
        }
    }

    func write(_ path: [String], _ value: String) throws {
        let file = Sysctl(path, value).procPath
        try NetworkNamespace.run(namespace) {
            guard let handle = FileHandle(forWritingAtPath: file) else {
                throw KernelRefusal(object: shellCommand(IPCommands.sysctl(Sysctl(path, value))), errno: ENOENT, detail: "no \(file)")
            }
            defer { try? handle.close() }
            do {
                try handle.write(contentsOf: Data((value + "\n").utf8))
            } catch {
                throw KernelRefusal(object: shellCommand(IPCommands.sysctl(Sysctl(path, value))), errno: EINVAL, detail: "\(error)")
            }
        }
    }
}
