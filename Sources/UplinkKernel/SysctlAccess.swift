import UplinkCore

/// A namespace's /proc/sys as apply reads and writes it: SysctlFiles for the real one, a
/// dictionary in tests, FaultInjectingSysctls for the lab's fault injection.
protocol SysctlAccess {
    /// The current values of the settings at `paths` that exist (the others are left out).
    func read(_ paths: [[String]]) throws -> [Sysctl]
    /// A refusal names the setting as `sysctl -w` would.
    func write(_ path: [String], _ value: String) throws
}
