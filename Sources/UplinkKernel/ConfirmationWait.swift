import CNetlink
import Glibc
import UplinkCore

/// The wait of `apply --confirm` for its confirmation. Signals are taken over before the apply
/// (so that a Ctrl-C during it is an answer, not a half-made change): SIGINT and SIGTERM put
/// the old state back at once; SIGHUP, a closed terminal or a dropped ssh session, changes
/// nothing and the countdown goes on.
public final class ConfirmationWait {
    private let signals: SignalDescriptor

    public init() throws {
        signals = try SignalDescriptor()
        signal(SIGPIPE, SIG_IGN)
    }

    public enum End: Equatable {
        /// Another uplinkctl removed the pending revert: `uplinkctl confirm`, or, once long
        /// overdue, another command's revert (Settlement.byAnother tells which).
        case settledElsewhere
        /// A line on the terminal.
        case enter
        case expired
        case interrupted(Int32)
    }

    /// Waits until `claim` is settled one way or the other; `tick` gets the whole seconds left
    /// each time they change, `hungUp` once the terminal has gone. `input`: a terminal whose
    /// Enter confirms.
    public func wait(for claim: PendingClaim, input: Int32?, tick: (Int) -> Void, hungUp: () -> Void) -> End {
        var input = input
        var shown = -1
        while true {
            let left = claim.revert.deadline - MonotonicClock.boot()
            guard left > 0 else { return .expired }
            if Int(left.rounded(.up)) != shown {
                shown = Int(left.rounded(.up))
                tick(shown)
            }
            var watched = [pollfd(fd: signals.descriptor, events: Int16(POLLIN), revents: 0)]
            if let input { watched.append(pollfd(fd: input, events: Int16(POLLIN), revents: 0)) }
            // Wakes at least every quarter second to see whether `uplinkctl confirm` has run.
            _ = poll(&watched, nfds_t(watched.count), Int32(min(250, left * 1000 + 1)))
            for signal in signals.read() {
                if signal == SIGHUP {
                    input = nil
                    hungUp()
                } else {
                    return .interrupted(signal)
                }
            }
            if let terminal = input, watched.count > 1, watched[1].revents != 0 {
                var byte: UInt8 = 0
                let count = read(terminal, &byte, 1)
                if count == 1 && byte == UInt8(ascii: "\n") { return .enter }
                // End of input or a dead terminal: only `uplinkctl confirm` can confirm now.
                if count <= 0 { input = nil }
            }
            if !claim.isPending { return .settledElsewhere }
        }
    }
}
