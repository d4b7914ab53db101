@testable import UplinkCore
@testable import UplinkKernel

/// The fake kernel's /proc/sys.
struct FakeSysctls: SysctlAccess {
    let kernel: FakeKernel

    func read(_ paths: [[String]]) throws -> [Sysctl] { kernel.readSysctls(paths) }
    func write(_ path: [String], _ value: String) throws { try kernel.writeSysctl(path, value) }
}
