/// Another uplinkctl holds the namespace's lock, and the caller chose not to wait for it.
public struct LockBusy: Error, CustomStringConvertible {
    public init() {}

    public var description: String { "another uplinkctl is changing this namespace" }
}
