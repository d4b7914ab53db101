/// The YAML a config was read from, carried beside it so that the record of an apply can give
/// its plan back (see AppliedPlan). Not part of what a config says: two configs are equal
/// whatever their comments and layout, so every SourceText equals every other.
public struct SourceText: Sendable, Hashable, Codable {
    public var yaml: String

    public init(_ yaml: String) { self.yaml = yaml }

    public static func == (lhs: SourceText, rhs: SourceText) -> Bool { true }

    public func hash(into hasher: inout Hasher) {}
}
