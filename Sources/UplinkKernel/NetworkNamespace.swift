import CNetlink
import Glibc

/// Runs code inside a named network namespace (/run/netns/NAME, as `ip netns` makes them),
/// the way `ip -n NAME` does: the calling thread switches, and switches back afterwards.
/// Sockets opened inside stay bound to that namespace for their whole life.
public enum NetworkNamespace {
    /// Moves the calling thread into the namespace for good, as `ip netns exec` does for a
    /// whole command: one switch instead of one per socket and per sysctl.
    public static func enter(_ name: String) throws {
        let target = open("/run/netns/\(name)", O_RDONLY | O_CLOEXEC)
        guard target >= 0 else {
            throw KernelRefusal(
                object: "network namespace \(name)", errno: errno,
                detail: "no /run/netns/\(name); list them with `ip netns list`")
        }
        defer { close(target) }
        guard uplinkctl_enter_network_namespace(target) == 0 else {
            throw KernelRefusal(object: "network namespace \(name)", errno: errno, detail: nil)
        }
    }

    /// Runs `body` inside the namespace (nil: where the thread is), then switches back.
    public static func run<T>(_ name: String?, _ body: () throws -> T) throws -> T {
        guard let name else { return try body() }
        let original = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC)
        guard original >= 0 else { throw KernelRefusal(object: "current network namespace", errno: errno, detail: nil) }
        defer { close(original) }
        try enter(name)
        defer { _ = uplinkctl_enter_network_namespace(original) }
        return try body()
    }
}
