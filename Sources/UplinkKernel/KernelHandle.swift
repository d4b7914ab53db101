import CNetlink

/// Where the kernel edge reaches one network namespace, as vishvananda/netlink's Handle does:
/// netlink sockets opened inside it, and its /proc/sys. Kernel takes everything it talks to from
/// a handle, so tests hand it a recording fake instead, and the command line a fault-injecting
/// one for the lab (see FaultInjection).
public struct KernelHandle {
    /// Opens a socket of netlink `family` (NETLINK_ROUTE, NETLINK_NETFILTER, ...) bound to the namespace.
    let socket: (Int32) throws -> any NetlinkTransport
    let sysctls: any SysctlAccess

    /// The namespace /run/netns/NAME (nil: the calling thread's own), through the real kernel.
    public static func namespace(_ name: String?) -> KernelHandle {
        KernelHandle(
            socket: { family in try NetworkNamespace.run(name) { try NetlinkSocket(family) } },
            sysctls: SysctlFiles(namespace: name))
    }
}
