import Glibc

/// The clocks uplinkctl reads. `now`: milliseconds of CLOCK_MONOTONIC, what timers and round
/// trips are measured in; it never jumps with the wall clock.
public enum MonotonicClock {
    static func now() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Double(time.tv_sec) * 1000 + Double(time.tv_nsec) / 1_000_000
    }

    /// Seconds since 1970, for what people read (state file, status).
    static func wall() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }

    /// Seconds since boot, suspend included (CLOCK_BOOTTIME): the same in every process, and
    /// not moved by setting the clock, which a confirmation deadline must not be.
    public static func boot() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_BOOTTIME, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }
}
