import UplinkCore

/// /proc/sys whose writes pass FaultInjection first; reads go straight through.
struct FaultInjectingSysctls: SysctlAccess {
    let inner: any SysctlAccess
    let faults: FaultInjection

    func read(_ paths: [[String]]) throws -> [Sysctl] { try inner.read(paths) }

    func write(_ path: [String], _ value: String) throws {
        try faults.change(shellCommand(IPCommands.sysctl(Sysctl(path, value))))
        try inner.write(path, value)
    }
}
