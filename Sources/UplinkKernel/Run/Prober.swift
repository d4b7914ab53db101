import CNetlink
import Glibc
import UplinkCore

/// Rounds of probes through each checked uplink, or to each checked service backend. Every
/// `interval` a round sends a probe to each target, and a second one
/// `HealthCheck.secondProbeDelay` later (either answer counts); at `timeout` the round is over,
/// answered or not. Times are milliseconds of the monotonic clock; the caller's loop sleeps
/// until `nextDeadline` or a descriptor is ready.
final class Prober {
    /// What one series of rounds checks.
    struct Subject {
        let name: String
        /// An uplink's probes leave by its interface and mark; a backend's are routed as the
        /// host's own (no interface), with the mark that keeps them out of balancing and DNAT.
        let interface: String?
        let mark: UInt32
        let check: HealthCheck
        let targets: [IPAddress]
        /// The TCP port of `method: tcp`.
        let port: UInt16
        /// A refused TCP connect proves an uplink's path; for a backend it means the backend is dead.
        let refusalAnswers: Bool

        static func uplink(name: String, interface: String, mark: UInt32, check: HealthCheck, targets: [IPAddress])
            -> Subject
        {
            Subject(
                name: name, interface: interface, mark: mark, check: check, targets: targets, port: check.port ?? 0,
                refusalAnswers: true)
        }
    }

    struct Outcome {
        let subject: String
        let answered: Bool
        /// The fastest answer's round trip, in milliseconds.
        let rtt: Double?
    }

    private struct Round {
        let number: UInt16
        let started: Double
        var secondSent = false
        var rtt: Double?
        /// When each probe of the round was sent, by its index (0 first, 1 second).
        var sent: [Double] = []
        /// TCP connects in progress: descriptor → when it started.
        var connects: [Int32: Double] = [:]
    }

    private final class Probed {
        let uplink: Subject
        var nextRound: Double
        var rounds: [Round] = []
        var counter: UInt16 = 0
        var echo: [IPFamily: EchoSocket] = [:]
        init(_ uplink: Subject, start: Double) {
            self.uplink = uplink
            self.nextRound = start
        }
    }

    private let probed: [Probed]
    private let identifierBase: UInt16

    init(_ uplinks: [Subject], now: Double) {
        probed = uplinks.filter { !$0.targets.isEmpty }.map { Probed($0, start: now) }
        identifierBase = UInt16(truncatingIfNeeded: getpid() &* 97)
    }

    deinit {
        for state in probed { for round in state.rounds { round.connects.keys.forEach { close($0) } } }
    }

    var isEmpty: Bool { probed.isEmpty }

    /// The next moment something is due: a round to start, a second probe, a round to end.
    var nextDeadline: Double? {
        probed.flatMap { state -> [Double] in
            [state.nextRound]
                + state.rounds.flatMap { round in
                    [round.started + Double(state.uplink.check.timeout.value)]
                        + (round.secondSent ? [] : [round.started + Double(HealthCheck.secondProbeDelay.value)])
                }
        }.min()
    }

    /// Descriptors to wait on: the echo sockets (readable) and the connects (writable).
    var descriptors: [pollfd] {
        probed.flatMap { state in
            state.echo.values.map { pollfd(fd: $0.descriptor, events: Int16(POLLIN), revents: 0) }
                + state.rounds.flatMap { $0.connects.keys.map { pollfd(fd: $0, events: Int16(POLLOUT), revents: 0) } }
        }
    }

    /// Starts the rounds that are due, sends the second probes that are due, and returns the
    /// rounds that are over.
    func tick(now: Double) -> [Outcome] {
        var outcomes: [Outcome] = []
        for (index, state) in probed.enumerated() {
            let check = state.uplink.check
            if now >= state.nextRound {
                state.counter &+= 1
                var round = Round(number: state.counter, started: now)
                send(state, &round, probe: 0, index: index, now: now)
                state.rounds.append(round)
                // A loop that woke late does not send a burst of rounds to catch up.
                state.nextRound = max(state.nextRound + Double(check.interval.value), now + 1)
            }
            for position in state.rounds.indices
            where !state.rounds[position].secondSent
                && now >= state.rounds[position].started + Double(HealthCheck.secondProbeDelay.value)
            {
                state.rounds[position].secondSent = true
                if check.timeout > HealthCheck.secondProbeDelay {
                    send(state, &state.rounds[position], probe: 1, index: index, now: now)
                }
            }
            while let first = state.rounds.first, now >= first.started + Double(check.timeout.value) {
                first.connects.keys.forEach { close($0) }
                state.rounds.removeFirst()
                outcomes.append(Outcome(subject: state.uplink.name, answered: first.rtt != nil, rtt: first.rtt))
            }
        }
        return outcomes
    }

    /// Collects what a ready descriptor says: echo replies, or a connect that finished.
    func ready(_ descriptor: Int32, now: Double) {
        for state in probed {
            for echo in state.echo.values where echo.descriptor == descriptor {
                for reply in echo.replies() {
                    let number = reply.sequence >> 1
                    guard let position = state.rounds.firstIndex(where: { $0.number & 0x7fff == number }),
                        state.uplink.targets.contains(reply.from)
                    else { continue }
                    let probe = Int(reply.sequence & 1)
                    guard probe < state.rounds[position].sent.count else { continue }
                    answer(&state.rounds[position], rtt: now - state.rounds[position].sent[probe])
                }
            }
            for position in state.rounds.indices {
                guard let started = state.rounds[position].connects[descriptor] else { continue }
                var error: Int32 = 0
                var length = socklen_t(MemoryLayout<Int32>.size)
                getsockopt(descriptor, SOL_SOCKET, SO_ERROR, &error, &length)
                close(descriptor)
                state.rounds[position].connects[descriptor] = nil
                // For an uplink a refusal proves the path as well as an accept does.
                if error == 0 || (error == ECONNREFUSED && state.uplink.refusalAnswers) {
                    answer(&state.rounds[position], rtt: now - started)
                }
            }
        }
    }

    private func answer(_ round: inout Round, rtt: Double) {
        round.rtt = min(round.rtt ?? rtt, rtt)
    }

    private func send(_ state: Probed, _ round: inout Round, probe: Int, index: Int, now: Double) {
        round.sent.append(now)
        let uplink = state.uplink
        for target in uplink.targets {
            switch uplink.check.method {
            case .icmp:
                guard let echo = echoSocket(state, family: target.family, index: index) else { continue }
                // The low bit of the sequence says which probe of the round it answers.
                if !echo.send(to: target, sequence: (round.number & 0x7fff) << 1 | UInt16(probe)) {
                    state.echo[target.family] = nil  // a device re-created since: a new socket next time
                }
            case .tcp:
                guard
                    let descriptor = try? ProbeSocket.open(
                        family: target.family, type: Int32(SOCK_STREAM.rawValue), protocol: 0,
                        interface: uplink.interface, mark: uplink.mark)
                else { continue }
                let result = ProbeSocket.withAddress(target, port: uplink.port) { connect(descriptor, $0, $1) }
                if result == 0 || errno == EINPROGRESS {
                    round.connects[descriptor] = now
                } else if errno == ECONNREFUSED && uplink.refusalAnswers {
                    close(descriptor)
                    answer(&round, rtt: 0)
                } else {
                    close(descriptor)
                }
            }
        }
    }

    private func echoSocket(_ state: Probed, family: IPFamily, index: Int) -> EchoSocket? {
        if let echo = state.echo[family] { return echo }
        let uplink = state.uplink
        guard
            let echo = try? EchoSocket(
                family: family, interface: uplink.interface, mark: uplink.mark,
                identifier: identifierBase &+ UInt16(truncatingIfNeeded: index))
        else { return nil }
        state.echo[family] = echo
        return echo
    }
}
