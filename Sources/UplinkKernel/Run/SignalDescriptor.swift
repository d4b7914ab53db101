import CNetlink
import Glibc

/// SIGHUP, SIGTERM and SIGINT as a readable descriptor (signalfd): the loop handles them
/// between reactions, never in the middle of one. Blocked for the whole process first, so
/// that no thread takes them the default way.
final class SignalDescriptor {
    let descriptor: Int32
    static let handled = [SIGHUP, SIGTERM, SIGINT]

    init() throws {
        var mask = sigset_t()
        sigemptyset(&mask)
        for signal in Self.handled { sigaddset(&mask, signal) }
        pthread_sigmask(SIG_BLOCK, &mask, nil)
        descriptor = signalfd(-1, &mask, Int32(SFD_NONBLOCK | SFD_CLOEXEC))
        guard descriptor >= 0 else { throw KernelRefusal(object: "signalfd", errno: errno, detail: nil) }
    }

    deinit { close(descriptor) }

    /// The signals that arrived, in order.
    func read() -> [Int32] {
        var result: [Int32] = []
        var info = signalfd_siginfo()
        while Glibc.read(descriptor, &info, MemoryLayout<signalfd_siginfo>.size) == MemoryLayout<signalfd_siginfo>.size
        {
            result.append(Int32(info.ssi_signo))
        }
        return result
    }
}
