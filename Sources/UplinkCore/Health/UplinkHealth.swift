import Foundation

/// What `run` knows of one uplink's health: whether it is in the rotation, since when and why,
/// and what its probes have seen. A value: `run` keeps one per uplink, writes them to its
/// state file, and `status` reads them back.
public struct UplinkHealth: Sendable, Hashable, Codable {
    public enum State: String, Sendable, Hashable, Codable {
        /// In the rotation.
        case up
        /// Out of the rotation: its slots are the other uplinks'.
        case down
        /// In the rotation at start, before its probes have said anything.
        case probing
    }

    public var state: State
    /// When the state began (seconds since 1970).
    public var since: Double
    /// Why it changed last: "carrier lost", "4 rounds lost to 198.19.0.1", "3 rounds answered".
    public var reason: String
    /// Carrier present and the interface up.
    public var linkUp: Bool
    /// Rounds in a row that failed, and that were answered.
    public var failedRounds = 0
    public var goodRounds = 0
    /// The round trip of the last answer, in milliseconds.
    public var lastRTT: Double?
    /// The outcomes of the last `window` rounds, oldest first: true when answered.
    public var recent: [Bool] = []
    public var transitions = 0

    public static let window = 20

    public init(state: State, since: Double, reason: String, linkUp: Bool) {
        self.state = state
        self.since = since
        self.reason = reason
        self.linkUp = linkUp
    }

    /// Rounds lost among the recent ones, 0 to 1.
    public var loss: Double {
        recent.isEmpty ? 0 : Double(recent.count { !$0 }) / Double(recent.count)
    }

    /// Whether it takes new connections.
    public var inRotation: Bool { state != .down }
}

/// The rules that move an uplink in and out of the rotation, applied to one uplink's health.
/// Pure: the caller says what happened and when; the answer is the new health and whether
/// the uplink changed sides.
public struct HealthRules: Sendable {
    public let check: HealthCheck?
    /// Probes are sent (the check has targets): link state alone does not bring it back.
    public let probed: Bool

    public init(check: HealthCheck?, targets: [IPAddress]) {
        self.check = check
        self.probed = check != nil && !targets.isEmpty
    }

    /// The health at start: in the rotation while the link is up (probed ones `probing`).
    public func initial(linkUp: Bool, now: Double) -> UplinkHealth {
        if check == nil {
            return UplinkHealth(state: .up, since: now, reason: "not checked (health: false)", linkUp: linkUp)
        }
        guard linkUp else {
            return UplinkHealth(state: .down, since: now, reason: "no carrier at start", linkUp: false)
        }
        return UplinkHealth(state: probed ? .probing : .up, since: now, reason: "started", linkUp: true)
    }

    /// The link changed: losing it takes the uplink out at once; regaining it brings back an
    /// uplink without probes at once, a probed one after `up` good rounds.
    public func link(_ health: UplinkHealth, up linkUp: Bool, why: String, now: Double) -> UplinkHealth {
        guard check != nil, linkUp != health.linkUp else { return health }
        var next = health
        next.linkUp = linkUp
        next.failedRounds = 0
        next.goodRounds = 0
        if !linkUp {
            if next.state != .down { next = moved(next, to: .down, why: why, now: now) }
        } else if !probed {
            next = moved(next, to: .up, why: why, now: now)
        }
        return next
    }

    /// A round ended: answered (with the fastest answer's round trip) or not.
    /// `link`: say the link state in the reason (uplinks; a backend has none of its own).
    public func round(
        _ health: UplinkHealth, answered: Bool, rtt: Double?, lostTo targets: String, now: Double,
        link: Bool = true
    ) -> UplinkHealth {
        guard let check, probed else { return health }
        var next = health
        next.recent = Array((next.recent + [answered]).suffix(UplinkHealth.window))
        if answered {
            next.lastRTT = rtt
            next.goodRounds += 1
            next.failedRounds = 0
        } else {
            next.failedRounds += 1
            next.goodRounds = 0
        }
        switch next.state {
        case .up, .probing:
            if next.failedRounds >= check.down {
                let carrier = !link ? "" : next.linkUp ? " (carrier up)" : " (no carrier)"
                next = moved(next, to: .down, why: "\(next.failedRounds) rounds lost to \(targets)\(carrier)", now: now)
            } else if next.state == .probing && answered {
                next = moved(next, to: .up, why: "answered", now: now, counts: false)
            }
        case .down:
            if next.linkUp && next.goodRounds >= check.up {
                next = moved(next, to: .up, why: "\(next.goodRounds) rounds answered", now: now)
            }
        }
        return next
    }

    private func moved(
        _ health: UplinkHealth, to state: UplinkHealth.State, why: String, now: Double,
        counts: Bool = true
    ) -> UplinkHealth {
        var next = health
        next.state = state
        next.since = now
        next.reason = why
        if counts { next.transitions += 1 }
        return next
    }
}
