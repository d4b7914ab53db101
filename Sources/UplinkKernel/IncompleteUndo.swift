/// The apply failed and could not be undone entirely: the refusal, and each step the kernel
/// still holds, named as the command that would have undone it, with the kernel's reason.
public struct IncompleteUndo: Error, CustomStringConvertible {
    public let cause: Error
    /// How many of the steps already made were undone.
    public let undone: Int
    public let failures: [String]

    public var description: String {
        let made = undone + failures.count
        let alone = failures.count == 1 ? "that step alone" : "those steps alone"
        return
            "\(cause); \(failures.count) of the \(made) step\(made == 1 ? "" : "s") already made could not be undone: "
            + failures.joined(separator: "; ")
            + "; the other \(undone) \(undone == 1 ? "was" : "were"), so the kernel differs from before in \(alone) "
            + "(`uplinkctl diff` shows it; `uplinkctl apply` or `uplinkctl flush` puts it right)"
    }
}
