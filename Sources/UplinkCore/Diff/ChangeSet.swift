/// Everything that must change to bring the live state to the desired one, in the order apply
/// makes the changes: routes, then the rules that point at them, then new sysctl values, then
/// the nft batch, then the removal of old rules and routes, then restored sysctls. New before
/// old: traffic always has a way.
public struct ChangeSet: Sendable, Hashable {
    public var routesToAdd: [Route] = []
    public var routesToReplace: [RouteReplacement] = []
    public var rulesToAdd: [RoutingRule] = []
    public var nftables: [NftChange] = []
    public var rulesToDelete: [RoutingRule] = []
    public var unknownRulesToDelete: [UnknownRule] = []
    public var routesToDelete: [Route] = []
    /// Settings to write, with the value each had (for undo and for the record flush restores).
    public var sysctls: [SysctlChange] = []
    /// MPTCP path-manager endpoints: added with the rules, removed with them.
    public var mptcpEndpointsToAdd: [MptcpEndpoint] = []
    public var mptcpEndpointsToDelete: [LiveMptcp.Endpoint] = []
    public var mptcpLimits: MptcpLimitsChange?

    public init() {}

    public var isEmpty: Bool {
        routesToAdd.isEmpty && routesToReplace.isEmpty && rulesToAdd.isEmpty && nftables.isEmpty
            && rulesToDelete.isEmpty
            && unknownRulesToDelete.isEmpty && routesToDelete.isEmpty && sysctls.isEmpty
            && mptcpEndpointsToAdd.isEmpty && mptcpEndpointsToDelete.isEmpty && mptcpLimits == nil
    }

    /// The changes as `+`/`-` lines in the dry-run's language (diff's output).
    public var lines: [String] {
        var result: [String] = []
        result += routesToAdd.map { "+ " + shellCommand(IPCommands.route($0, .add)) }
        result += routesToReplace.map {
            "+ " + shellCommand(IPCommands.route($0.new, .replace)) + " # was "
                + $0.old.nexthops.map(\.description).joined(separator: ", ")
        }
        result += rulesToAdd.map { "+ " + shellCommand(IPCommands.rule($0, .add)) }
        result += mptcpEndpointsToAdd.map { "+ " + shellCommand(IPCommands.mptcpEndpoint($0)) }
        result += nftables.map { ($0.isAddition ? "+ " : "- ") + $0.command }
        result += rulesToDelete.map { "- " + shellCommand(IPCommands.rule($0, .del)) }
        result += unknownRulesToDelete.map { "- " + $0.deletion }
        result += routesToDelete.map { "- " + shellCommand(IPCommands.route($0, .del)) }
        result += mptcpEndpointsToDelete.map {
            "- " + shellCommand(IPCommands.mptcpEndpointDeletion(id: $0.id)) + " # \($0.endpoint)"
        }
        if let change = mptcpLimits {
            result.append(
                (change.isRestore ? "- " : "+ ") + shellCommand(IPCommands.mptcpLimits(change.value))
                    + " # now \(change.previous)")
        }
        result += sysctls.map { change in
            let line = shellCommand(IPCommands.sysctl(Sysctl(change.path, change.value)))
            return (change.isRestore ? "- " : "+ ") + line + (change.previous.map { " # now \($0)" } ?? "")
        }
        return result
    }
}

/// A sysctl to write: the value wanted, the value it has now, and whether this puts back a
/// value uplinkctl had changed.
public struct SysctlChange: Sendable, Hashable {
    public var path: [String]
    public var value: String
    public var previous: String?
    public var isRestore: Bool

    public init(path: [String], value: String, previous: String?, isRestore: Bool) {
        self.path = path
        self.value = value
        self.previous = previous
        self.isRestore = isRestore
    }
}

/// New MPTCP limits, the ones they replace, and whether this puts back limits uplinkctl had changed.
public struct MptcpLimitsChange: Sendable, Hashable {
    public var value: MptcpLimits
    public var previous: MptcpLimits
    public var isRestore: Bool

    public init(value: MptcpLimits, previous: MptcpLimits, isRestore: Bool) {
        self.value = value
        self.previous = previous
        self.isRestore = isRestore
    }
}

/// A route whose table and destination stay, with a new gateway or device.
public struct RouteReplacement: Sendable, Hashable {
    public var old: Route
    public var new: Route
}
