import ArgumentParser
import Foundation
import UplinkCore
import UplinkKernel

/// `--netns`, shared by the commands that talk to the kernel.
struct KernelOptions: ParsableArguments {
    @Option(name: .customLong("netns"), help: ArgumentHelp("Act inside the network namespace /run/netns/NAME, as `ip -n NAME` does.", valueName: "name"))
    var namespace: String?

    /// The namespace's kernel, its lock held, and the record of sysctls we changed.
    func open() throws -> (kernel: Kernel, store: StateStore) {
        do {
            try Self.checkKernelVersion()
            // The whole command runs inside the namespace (uplinkctl is single-threaded).
            if let namespace { try NetworkNamespace.enter(namespace) }
            let kernel = try Kernel(namespace: nil)
            let store = try StateStore(namespace: nil)
            try store.lock { printError("uplinkctl: waiting for another uplinkctl working on this namespace…") }
            return (kernel, store)
        } catch {
            printError("uplinkctl: \(error)")
            throw ExitStatus.kernelRefused
        }
    }

    /// The plan's kernel facts (see `planFacts`) for a dry-run: read only, no lock.
    /// Nil (and the reason on stderr) when they cannot be read.
    func addressesForDryRun() -> LinkAddresses? {
        do {
            if let namespace { try NetworkNamespace.enter(namespace) }
            let routing = try RoutingKernel(namespace: nil)
            return LinkAddresses(links: routing.links, routes: try routing.snapshot().foreignRoutes)
        } catch {
            printError("uplinkctl: the interfaces' addresses could not be read (\(error)); the script has no `from ADDRESS` rules")
            return nil
        }
    }

    /// Other programs' ip rules, for check: read only, no lock. Nil (and the reason on stderr)
    /// when they cannot be read.
    func foreignRulesForCheck() -> [ForeignRule]? {
        do {
            if let namespace { try NetworkNamespace.enter(namespace) }
            return try RoutingKernel(namespace: nil).foreignRules()
        } catch {
            let place = namespace.map { "namespace \($0)" } ?? "this host"
            printError("uplinkctl: note (\(place)): the ip rules could not be read (\(error)); nothing is said about other policy routing")
            return nil
        }
    }

    /// Notes and warnings about other policy routing, each naming the kernel it was read from,
    /// so that a config checked away from its router is not mistaken for the router's.
    func printNotices(_ notices: [RoutingNotice]) {
        let place = namespace.map { "namespace \($0)" } ?? "this host"
        for notice in notices { printError("uplinkctl: \(notice.level.rawValue) (\(place)): \(notice.text)") }
    }

    /// nf_tables `inet` nat chains need Linux 5.2; numgen, fib and named counters are older.
    static let minimumKernel = (5, 2)

    static func checkKernelVersion() throws {
        var name = utsname()
        uname(&name)
        let release = withUnsafeBytes(of: &name.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let numbers = release.split(whereSeparator: { !$0.isNumber }).prefix(2).compactMap { Int($0) }
        guard numbers.count == 2, (numbers[0], numbers[1]) >= minimumKernel else {
            throw UnsupportedKernel(release: release)
        }
    }
}

struct UnsupportedKernel: Error, CustomStringConvertible {
    let release: String
    var description: String {
        "Linux \(release) is too old: uplinkctl needs \(KernelOptions.minimumKernel.0).\(KernelOptions.minimumKernel.1) or later (nf_tables inet nat chains)"
    }
}

/// The live state, and the sysctl record when it still describes it: a record without our
/// table is left over from an earlier life of the namespace and is dropped.
func liveState(_ kernel: Kernel, _ store: StateStore, desired: DesiredState?) throws -> (LiveState, SysctlRecord) {
    var record = try store.record()
    var live = try kernel.live(desired: desired, record: record)
    if live.nftables == nil && live.rules.isEmpty && live.unknownRules.isEmpty && !record.entries.isEmpty {
        record = SysctlRecord()
        live = try kernel.live(desired: desired, record: record)
    }
    return (live, record)
}

/// What the plan needs to know of the kernel: the uplinks' addresses and the main table's
/// default routes (see `LinkAddresses`).
func planFacts(_ kernel: Kernel) throws -> LinkAddresses {
    LinkAddresses(links: kernel.routing.links, routes: try kernel.routingState().foreignRoutes)
}
