import CNetlink
import Foundation
import Glibc

/// sd_notify(3) without libsystemd: datagrams to $NOTIFY_SOCKET (a path, or `@` for the
/// abstract namespace). READY=1 once the first state is installed, WATCHDOG=1 at half of
/// $WATCHDOG_USEC, STOPPING=1 on the way out. Does nothing outside systemd.
final class SystemdNotifier {
    private let path: String?
    /// How often to tell the watchdog, in milliseconds; nil when there is none.
    let watchdogInterval: Double?

    init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        path = environment["NOTIFY_SOCKET"]
        watchdogInterval = environment["WATCHDOG_USEC"].flatMap(Double.init).map { $0 / 1000 / 2 }
    }

    func send(_ state: String) {
        guard let path, !path.isEmpty else { return }
        let descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { return }
        defer { close(descriptor) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var bytes = Array(path.utf8)
        if bytes.first == UInt8(ascii: "@") { bytes[0] = 0 }
        let length = min(bytes.count, MemoryLayout.size(ofValue: address.sun_path) - 1)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes[..<length]) }
        let size = socklen_t(MemoryLayout<sa_family_t>.size + length)
        _ = state.withCString { text in
            withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(descriptor, text, strlen(text), 0, $0, size)
                }
            }
        }
    }
}
