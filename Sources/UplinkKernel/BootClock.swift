import Glibc

/// Seconds since boot, suspend included (CLOCK_BOOTTIME): the same in every process, and not
/// moved by setting the clock, which a confirmation deadline must not be.
public enum BootClock {
    public static func now() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_BOOTTIME, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }
}
