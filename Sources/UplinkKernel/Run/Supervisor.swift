import CNetlink
import Glibc
import Logging
import UplinkCore

/// `uplinkctl run`: keeps the kernel equal to the plan of (config, health of each uplink,
/// interfaces and addresses), one reaction at a time. It sleeps in poll(2) until something
/// happens: a link, address, route, rule or nf_tables event, a probe's answer or deadline, a
/// signal, a metrics scrape, a retry's deadline. Every reaction reads the kernel afresh and goes
/// through the same workflow as `apply` (the namespace's lock held only while it changes something).
public final class Supervisor {
    public struct Options {
        public var configPath: String
        public var flushOnExit = false
        /// `--metrics HOST:PORT`.
        public var metrics: (host: String, port: UInt16)?
        /// `--confirm-reload SECONDS`: a reload stays only if `uplinkctl confirm` comes in time.
        public var confirmReload: Int?

        public init(
            configPath: String, flushOnExit: Bool = false, metrics: (host: String, port: UInt16)? = nil,
            confirmReload: Int? = nil
        ) {
            self.configPath = configPath
            self.flushOnExit = flushOnExit
            self.metrics = metrics
            self.confirmReload = confirmReload
        }
    }

    private let reconciler: Reconciler
    private let options: Options
    private var logger: Logger
    /// Re-reads the config file (SIGHUP).
    private let load: () -> ConfigCheck
    private var config: Config
    private var health: [String: UplinkHealth] = [:]
    /// Each checked service backend's health, by its name (`api-2`).
    private var backendHealth: [String: UplinkHealth] = [:]
    /// The backends out of the rotation in the state last installed.
    private var installedDownBackends: Set<String> = []
    /// The uplinks out of the rotation in the state last installed.
    private var installedDown: Set<String> = []
    private var prober: Prober
    private var backendProber: Prober
    private let events: KernelEvents
    private let signals: SignalDescriptor
    private let notifier = SystemdNotifier()
    private let conntrack: ConntrackNetlink
    /// Opened once this process holds the namespace (a second `run` says so, not "address in use").
    private var metrics: MetricsEndpoint?
    private var metricsText = MetricsText()
    private let started = MonotonicClock.wall()
    private var lastEvent: String?
    private var allDownSaid = false
    /// A reaction that could not be installed is tried again at this time (monotonic ms),
    /// backing off from 1 s to a minute; one blocked by another uplinkctl's lock, in 200 ms.
    private var retryAt: Double?
    private var retryDelay = Supervisor.firstRetry
    private static let firstRetry = 1000.0
    private var installedOnce = false
    /// When the state file was last written (monotonic ms): between events, round trips and
    /// loss reach it at most once a second.
    private var savedAt = 0.0
    /// A reload to be confirmed, not installed yet (the lock was busy, or it was refused), and
    /// the config before it.
    private var reloadToConfirm: (request: Reconciler.ConfirmRequest, previous: Config)?
    /// An installed reload that waits for `uplinkctl confirm`, and the config to go back to.
    private var pendingReload: (claim: PendingClaim, previous: Config)?

    public init(
        reconciler: Reconciler, config: Config, options: Options, logger: Logger,
        load: @escaping () -> ConfigCheck
    ) throws {
        self.reconciler = reconciler
        self.config = config
        self.options = options
        self.logger = logger
        self.load = load
        signals = try SignalDescriptor()
        events = try KernelEvents()
        conntrack = try ConntrackNetlink(namespace: nil)
        prober = Prober(Self.probed(config), now: MonotonicClock.now())
        backendProber = Prober(Self.probedBackends(config), now: MonotonicClock.now())
    }

    private static func probed(_ config: Config) -> [Prober.Subject] {
        config.uplinks.compactMap { uplink in
            uplink.health.map {
                Prober.Subject.uplink(
                    name: uplink.name, interface: uplink.interface, mark: uplink.mark, check: $0,
                    targets: uplink.probeTargets)
            }
        }
    }

    /// A TCP connect to each checked backend, routed as the host's own connections, with the
    /// mark the services' output rules let pass untranslated.
    private static func probedBackends(_ config: Config) -> [Prober.Subject] {
        config.services.flatMap { service in
            service.backends.indices.compactMap { index -> Prober.Subject? in
                guard let check = service.health else { return nil }
                let (target, port) = backendEndpoint(service, index)
                return Prober.Subject(
                    name: service.backendName(index), interface: nil, mark: config.backendProbeMark,
                    check: check, targets: [target], port: port, refusalAnswers: false)
            }
        }
    }

    /// Where a backend is checked: its address and port; one given by its port alone (this host)
    /// at the service's address, or 127.0.0.1 (::1 for an IPv6-only service).
    private static func backendEndpoint(_ service: Service, _ index: Int) -> (IPAddress, UInt16) {
        let backend = service.backends[index]
        let loopback = IPAddress(service.families.contains(.ipv4) ? "127.0.0.1" : "::1")!
        return (backend.address ?? service.address ?? loopback, backend.port ?? service.ports.lower)
    }

    /// A backend's rules: its service's check, to its one target.
    private static func backendRules(_ service: Service, _ index: Int) -> HealthRules {
        HealthRules(check: service.health, targets: [backendEndpoint(service, index).0])
    }

    private func backendRules(_ name: String) -> HealthRules? { config.backend(named: name).map(Self.backendRules) }

    /// Every backend in at start (checked ones `probing` until their first answer).
    private func initialBackendHealth(
        keeping old: [String: UplinkHealth] = [:], unchanged: (String) -> Bool = { _ in false }
    )
        -> [String: UplinkHealth]
    {
        let now = MonotonicClock.wall()
        var result: [String: UplinkHealth] = [:]
        for service in config.services {
            for index in service.backends.indices {
                let name = service.backendName(index)
                result[name] =
                    (unchanged(name) ? old[name] : nil)
                    ?? Self.backendRules(service, index).initial(linkUp: true, now: now)
            }
        }
        return result
    }

    private func rules(_ uplink: Uplink) -> HealthRules {
        HealthRules(check: uplink.health, targets: uplink.probeTargets)
    }

    /// Runs until SIGTERM or SIGINT; returns the exit status.
    public func run() -> Int32 {
        do {
            try reconciler.store.claimRun()
        } catch {
            logger.error("\(error)")
            return 1
        }
        defer { reconciler.store.releaseRun() }
        do {
            metrics = try options.metrics.map { try MetricsEndpoint(host: $0.host, port: $0.port) }
        } catch {
            logger.error("\(error)")
            return 1
        }
        let links = (try? reconciler.kernel.routing.links()) ?? [:]
        let now = MonotonicClock.wall()
        for uplink in config.uplinks {
            health[uplink.name] = rules(uplink).initial(linkUp: Self.linkUp(links[uplink.interface]), now: now)
        }
        backendHealth = initialBackendHealth()
        let backends = config.services.map(\.backends.count).reduce(0, +)
        let checked = config.services.filter { $0.health != nil }.map(\.backends.count).reduce(0, +)
        let served =
            config.services.isEmpty
            ? "" : "; \(config.services.count) services, \(checked) of their \(backends) backends checked"
        let watching = prober.isEmpty ? "link state only" : "probing"
        logger.info("run: \(config.uplinks.count) uplinks from \(options.configPath); \(watching)\(served)")
        // At start, a config the kernel or the preflight refuses ends `run`, as it ends `apply`.
        if !reconcile(why: "start") { return refusedAtStart() }
        // READY=1 once the state is installed (at start, or on a retry when another uplinkctl held the lock).
        var announced = false
        var nextWatchdog = MonotonicClock.now()
        while true {
            if installedOnce && !announced {
                notifier.send("READY=1")
                announced = true
            }
            let now = MonotonicClock.now()
            let fixed = [signals.descriptor] + events.descriptors
            var descriptors = fixed.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            descriptors += prober.descriptors
            descriptors += backendProber.descriptors
            descriptors += metrics?.descriptors(now: now) ?? []
            // While a reload waits, a look every quarter second for `uplinkctl confirm`.
            let confirmLook = pendingReload.map { _ in now + 250 }
            let deadlines = [
                prober.nextDeadline, backendProber.nextDeadline, notifier.watchdogInterval.map { _ in nextWatchdog },
                retryAt,
                metrics?.nextDeadline, confirmLook
            ].compactMap { $0 }
            let timeout = deadlines.min().map { Int32(max(0, min(60_000, ($0 - now).rounded(.up)))) } ?? 60_000
            _ = poll(&descriptors, nfds_t(descriptors.count), timeout)
            let woke = MonotonicClock.now()
            if descriptors[0].revents != 0 {
                for signal in signals.read() {
                    if signal == SIGHUP { reload() } else { return stop(signal) }
                }
            }
            var changed = false
            for descriptor in descriptors[1..<fixed.count] where descriptor.revents != 0 {
                changed = events.drain(descriptor.fd) || changed
            }
            for descriptor in descriptors.dropFirst(fixed.count) where descriptor.revents != 0 {
                prober.ready(descriptor.fd, now: woke)
                backendProber.ready(descriptor.fd, now: woke)
                metrics?.ready(descriptor.fd, now: woke) { self.renderMetrics() }
            }
            metrics?.expire(now: woke)
            let outcomes = prober.tick(now: woke)
            for outcome in outcomes { changed = record(outcome) || changed }
            let backendOutcomes = backendProber.tick(now: woke)
            for outcome in backendOutcomes { changed = recordBackend(outcome) || changed }
            if !(outcomes.isEmpty && backendOutcomes.isEmpty) && !changed && woke - savedAt >= 1000 { save() }
            if let retryAt, woke >= retryAt { changed = true }
            changed = settleReload() || changed
            if changed && !reconcile(why: installedOnce ? "event" : "start") && !installedOnce {
                return refusedAtStart()
            }
            if let interval = notifier.watchdogInterval, woke >= nextWatchdog {
                notifier.send("WATCHDOG=1")
                nextWatchdog = woke + interval
            }
        }
    }

    // MARK: Reactions

    /// A round ended: true when an uplink changed sides (the plan changes).
    private func record(_ outcome: Prober.Outcome) -> Bool {
        guard let uplink = config.uplink(named: outcome.subject), let before = health[uplink.name] else { return false }
        let targets = uplink.probeTargets.map(\.description).joined(separator: ", ")
        let after = rules(uplink).round(
            before, answered: outcome.answered, rtt: outcome.rtt, lostTo: targets, now: MonotonicClock.wall())
        health[uplink.name] = after
        return after.inRotation != before.inRotation
    }

    /// A backend's round ended: true when it changed sides.
    private func recordBackend(_ outcome: Prober.Outcome) -> Bool {
        guard let rules = backendRules(outcome.subject), let before = backendHealth[outcome.subject] else {
            return false
        }
        let target = rules.check.map { _ in backendTarget(outcome.subject) } ?? ""
        let after = rules.round(
            before, answered: outcome.answered, rtt: outcome.rtt, lostTo: target, now: MonotonicClock.wall(),
            link: false)
        backendHealth[outcome.subject] = after
        return after.inRotation != before.inRotation
    }

    /// `198.18.5.2:8080`, `127.0.0.1:8081` for a backend given by its port alone.
    private func backendTarget(_ name: String) -> String {
        guard let (service, index) = config.backend(named: name) else { return name }
        let (address, port) = Self.backendEndpoint(service, index)
        return NatTarget.address(address, port: port).description
    }

    /// Reads the links, updates link health, and installs the plan for the uplinks in the
    /// rotation; a dead uplink's connections are flushed once it is out.
    /// False when the change was refused or failed (not when another uplinkctl held the lock:
    /// that is tried again in 200 ms).
    @discardableResult
    private func reconcile(why: String) -> Bool {
        retryAt = nil
        var down = installedDown
        let downBackends = Set(backendHealth.filter { !$0.value.inRotation }.map(\.key))
        // Never wait for the lock here: signals, probes and the watchdog must go on.
        let result = reconciler.apply(
            config, from: options.configPath, waiting: nil,
            down: { snapshot in
                down = self.outOfRotation(snapshot)
                return down
            }, downBackends: downBackends, confirm: reloadToConfirm?.request)
        if let settled = result.settled { say(settled.text) }
        if let (request, previous) = reloadToConfirm {
            if let claim = result.pending {
                reloadToConfirm = nil
                pendingReload = (claim, previous)
                say(
                    "reload: keep it with `uplinkctl confirm` within \(request.seconds) s, "
                        + "or run goes back to the previous config")
            } else if case .inSync = result.outcome {
                // Nothing changed, so nothing to confirm.
                reloadToConfirm = nil
            }
        }
        switch result.outcome {
        case .inSync, .applied:
            break
        case .busy:
            retryAt = MonotonicClock.now() + 200
            return true
        case .refused(let problems):
            return failed("not applied: \(problems.joined(separator: "; "))")
        case .kernelRefused(let error):
            return failed("not applied: \(error)")
        case .incompleteUndo(let error):
            logger.critical("\(error)")
            return failed("not applied")
        case .appliedWithoutRecord(_, let error):
            logger.error("applied, but the sysctl record could not be written: \(error)")
        }
        installedOnce = true
        retryDelay = Self.firstRetry
        let gone = down.subtracting(installedDown)
        let back = installedDown.subtracting(down)
        installedDown = down
        for name in config.uplinks.map(\.name) where gone.contains(name) || back.contains(name) {
            say(transition(name, out: gone.contains(name)))
        }
        let backendsGone = downBackends.subtracting(installedDownBackends)
        let backendsBack = installedDownBackends.subtracting(downBackends)
        installedDownBackends = downBackends
        for service in config.services {
            for index in service.backends.indices {
                let name = service.backendName(index)
                guard backendsGone.contains(name) || backendsBack.contains(name) else { continue }
                say(backendTransition(service, index, out: backendsGone.contains(name)))
            }
        }
        if case .inSync = result.outcome, why == "start" {
            say("start: in sync with \(options.configPath); nothing to change")
        }
        if case .applied(let changes) = result.outcome,
            gone.isEmpty && back.isEmpty && backendsGone.isEmpty && backendsBack.isEmpty
        {
            let count = "\(changes.lines.count) change\(changes.lines.count == 1 ? "" : "s")"
            say(
                why == "event"
                    ? "the kernel changed (links, addresses, routes, rules or nftables): applied \(count)"
                    : "\(why): applied \(count)")
        }
        save()
        return true
    }

    private func refusedAtStart() -> Int32 {
        logger.error("run: nothing was changed; fix the above and start it again")
        return 1
    }

    /// Logs why a reaction was not installed and when it is tried again (sooner after an
    /// event: every event reconciles afresh).
    private func failed(_ why: String) -> Bool {
        guard installedOnce else {
            logger.error("\(why)")
            return false
        }
        logger.error("\(why); the installed state is kept; trying again in \(Int(retryDelay / 1000)) s")
        retryAt = MonotonicClock.now() + retryDelay
        retryDelay = min(retryDelay * 2, 60_000)
        return false
    }

    /// Updates each uplink's link health from `snapshot` and says which uplinks are out of the
    /// rotation (when all are, the last state is kept: there is nothing better to route to).
    private func outOfRotation(_ snapshot: KernelSnapshot) -> Set<String> {
        let facts = snapshot.facts(config, down: [])
        let now = MonotonicClock.wall()
        for uplink in config.uplinks {
            guard let before = health[uplink.name] else { continue }
            let link = snapshot.links[uplink.interface]
            // `gateway: auto` without any default route of its interface yet has nowhere to send.
            let gatewayKnown = !uplink.gatewayAuto || uplink.families.contains { facts.gateway(of: uplink, $0) != nil }
            let why =
                link == nil
                ? "interface \(uplink.interface) missing"
                : !link!.isUp
                    ? "interface \(uplink.interface) down"
                    : !link!.hasCarrier
                        ? "carrier lost" : !gatewayKnown ? "no gateway yet (gateway: auto)" : "carrier back"
            health[uplink.name] = rules(uplink).link(before, up: Self.linkUp(link) && gatewayKnown, why: why, now: now)
        }
        let down = Set(config.uplinks.filter { health[$0.name]?.inRotation == false }.map(\.name))
        guard down.count == config.uplinks.count else {
            allDownSaid = false
            return down
        }
        if !allDownSaid { logger.critical("every uplink is down; keeping the last state (nothing better to route to)") }
        allDownSaid = true
        return installedDown
    }

    /// `uplink b down: 4 rounds lost to 198.19.0.1 (carrier up); its 1 slot now a, c; 14 connections flushed`.
    private func transition(_ name: String, out: Bool) -> String {
        guard let uplink = config.uplink(named: name), let state = health[name] else { return "uplink \(name) changed" }
        let slots = reducedWeights(config.uplinks.map(\.weight))[config.uplinks.firstIndex { $0.name == name }!]
        let plural = slots == 1 ? "slot" : "slots"
        guard out else { return "uplink \(name) up: \(state.reason); its \(slots) \(plural) back" }
        let heirs = config.uplinks.filter { !installedDown.contains($0.name) }.map(\.name).joined(separator: ", ")
        var line = "uplink \(name) down: \(state.reason); its \(slots) \(plural) now \(heirs)"
        let bits = MarkedBits(value: uplink.mark, mask: config.markMask)
        do {
            let count = try conntrack.count(bits)
            try conntrack.delete(bits)
            line += "; \(count) connection\(count == 1 ? "" : "s") flushed"
        } catch {
            line += "; its connections could not be flushed (\(error))"
        }
        return line
    }

    /// `backend api-2 198.18.5.3:8080 down: 4 rounds lost to 198.18.5.3:8080; its 1 slot now api-1, api-3`.
    private func backendTransition(_ service: Service, _ index: Int, out: Bool) -> String {
        let name = service.backendName(index)
        let state = backendHealth[name]
        // Slots and heirs within the backend's family (the first, for one on this host).
        let family = service.families.first { service.backends[index].serves($0) } ?? .ipv4
        let slots = service.slots(of: index, family)?.slots ?? 0
        let plural = slots == 1 ? "slot" : "slots"
        let head = "backend \(name) \(backendTarget(name))"
        guard out else { return "\(head) up: \(state?.reason ?? "answered"); its \(slots) \(plural) back" }
        let heirs = service.heirs(of: index, family, down: installedDownBackends)
        let to =
            heirs.isEmpty ? "kept (every backend of \(service.name) is down)" : "now \(heirs.joined(separator: ", "))"
        var line = "\(head) down: \(state?.reason ?? "no answer"); its \(slots) \(plural) \(to)"
        guard !heirs.isEmpty else { return line }
        let backend = service.backends[index]
        do {
            let count = try conntrack.deleteStaleEntries(of: service, to: backend)
            line += "; \(count) stale conntrack entr\(count == 1 ? "y" : "ies") flushed"
        } catch {
            line += "; its connections could not be flushed (\(error))"
        }
        return line
    }

    /// What a backend's health depends on: its service's check and where it listens.
    private static func backendIdentity(_ config: Config, _ name: String) -> String? {
        guard let (service, index) = config.backend(named: name) else { return nil }
        let (address, port) = backendEndpoint(service, index)
        return "\(address) \(port) \(String(describing: service.health))"
    }

    private func say(_ line: String) {
        lastEvent = line
        logger.notice("\(line)")
    }

    private func save() {
        savedAt = MonotonicClock.now()
        let state = RunState(
            pid: getpid(), config: options.configPath, started: started, uplinks: health, backends: backendHealth,
            lastEvent: lastEvent)
        do { try reconciler.store.save(state) } catch { logger.error("the state file could not be written: \(error)") }
    }

    private static func linkUp(_ link: InterfaceState?) -> Bool { link.map { $0.isUp && $0.hasCarrier } ?? false }

    // MARK: Signals

    /// SIGHUP: a valid config is installed make-before-break; an invalid one is logged, and
    /// the running state kept.
    private func reload() {
        if pendingReload != nil {
            let why =
                "reload: the last reload still waits for `uplinkctl confirm`; "
                + "confirm it or let it go back first"
            logger.error("\(why)")
            return
        }
        let check = load()
        guard let next = try? check.get() else {
            for diagnostic in check.diagnostics { logger.error("\(diagnostic.description)") }
            logger.error("reload: \(options.configPath) is not valid; still running the previous config")
            return
        }
        for diagnostic in check.warnings { logger.warning("\(diagnostic.description)") }
        if let seconds = options.confirmReload {
            // A reload never installed (refused, or the lock busy) is no config to go back to.
            let request = Reconciler.ConfirmRequest(seconds: seconds, config: options.configPath, kind: "reload")
            reloadToConfirm = (request, reloadToConfirm?.previous ?? config)
        }
        switchTo(next)
        say("reload: \(options.configPath), \(next.uplinks.count) uplinks")
        reconcile(why: "reload")
    }

    /// From now on plans `next`; the health of what stays the same is kept.
    private func switchTo(_ next: Config) {
        let links = (try? reconciler.kernel.routing.links()) ?? [:]
        let now = MonotonicClock.wall()
        // Uplinks that stay as they were keep their health; new or changed ones (another
        // interface, check or targets) start afresh, since the old verdict may no longer apply.
        health = Dictionary(
            uniqueKeysWithValues: next.uplinks.map { uplink in
                let old = config.uplink(named: uplink.name)
                let same =
                    old.map {
                        $0.interface == uplink.interface && $0.health == uplink.health
                            && $0.probeTargets == uplink.probeTargets
                    } ?? false
                let kept = same ? health[uplink.name] : nil
                return (
                    uplink.name, kept ?? rules(uplink).initial(linkUp: Self.linkUp(links[uplink.interface]), now: now)
                )
            })
        installedDown = installedDown.filter { next.uplink(named: $0) != nil }
        let previous = config
        config = next
        prober = Prober(Self.probed(next), now: MonotonicClock.now())
        backendProber = Prober(Self.probedBackends(next), now: MonotonicClock.now())
        // A backend keeps its health while its service's check and its endpoint stay the same.
        backendHealth = initialBackendHealth(keeping: backendHealth) { name in
            Self.backendIdentity(previous, name) == Self.backendIdentity(next, name)
        }
        installedDownBackends = installedDownBackends.filter {
            Self.backendIdentity(previous, $0) != nil
                && Self.backendIdentity(previous, $0) == Self.backendIdentity(next, $0)
        }
        // Series of uplinks that left the config must not be reported forever.
        metricsText = MetricsText()
    }

    /// A reload waiting for confirmation: confirmed (`uplinkctl confirm` removed its pending
    /// revert), or out of time: what was installed before goes back and run plans the previous
    /// config again. True when the plan changed.
    private func settleReload() -> Bool {
        guard let (claim, previous) = pendingReload else { return false }
        guard claim.isPending else {
            pendingReload = nil
            claim.release()
            let settlement = Settlement.byAnother(claim.revert)
            guard !settlement.kept else {
                say("reload: confirmed by `uplinkctl confirm`; it stays")
                return false
            }
            say("reload: \(settlement.text)")
            switchTo(previous)
            return true
        }
        guard MonotonicClock.boot() >= claim.revert.deadline else { return false }
        return revertReload(why: "not confirmed within \(claim.revert.seconds) s")
    }

    /// Puts back what the pending reload replaced, exactly, then plans the previous config
    /// again. Never waits for the lock (false, and tried again on the next turn of the loop).
    private func revertReload(why: String) -> Bool {
        guard let (claim, previous) = pendingReload else { return false }
        let settlement: Settlement
        do {
            settlement = try reconciler.settle(claim, confirmed: false, why: why, waiting: nil)
        } catch is LockBusy {
            return false
        } catch {
            logger.error("reload: \(error); going back to the previous config by planning it")
            pendingReload = nil
            switchTo(previous)
            return true
        }
        pendingReload = nil
        guard !settlement.kept else {
            say("reload: confirmed by `uplinkctl confirm`; it stays")
            return false
        }
        if case .reverted(_, let changes, _, nil) = settlement {
            say(
                "reload: \(why); what was installed before is back (\(changes.lines.count) changes); "
                    + "run plans the previous config again")
        } else {
            say("reload: \(settlement.text); run plans the previous config again")
        }
        switchTo(previous)
        return true
    }

    /// SIGTERM, SIGINT: every uplink back in (or everything removed, with --flush-on-exit).
    /// Within a second: another uplinkctl's lock is waited for half a second at most.
    private func stop(_ signal: Int32) -> Int32 {
        notifier.send("STOPPING=1")
        let name = signal == SIGTERM ? "SIGTERM" : "SIGINT"
        let giveUp = MonotonicClock.now() + 500
        // An unconfirmed reload is not kept: neither one installed nor one still to install.
        while pendingReload != nil && !revertReload(why: name) && MonotonicClock.now() < giveUp { usleep(20_000) }
        if let (_, previous) = reloadToConfirm {
            reloadToConfirm = nil
            switchTo(previous)
        }
        if options.flushOnExit {
            while true {
                do {
                    let changes = try reconciler.flush(waiting: nil)
                    logger.notice("\(name): flushed, \(changes.lines.count) changes; exiting")
                    return 0
                } catch is LockBusy where MonotonicClock.now() < giveUp {
                    usleep(20_000)
                } catch {
                    logger.error(
                        "\(name): the flush failed: \(error); exiting with it installed (`uplinkctl flush` removes it)")
                    return 1
                }
            }
        }
        var result = reconciler.apply(config, from: options.configPath, waiting: nil)
        while case .busy = result.outcome, MonotonicClock.now() < giveUp {
            usleep(20_000)
            result = reconciler.apply(config, from: options.configPath, waiting: nil)
        }
        let left =
            "exiting with the uplinks out of the rotation as they were (`uplinkctl apply` puts every uplink back)"
        switch result.outcome {
        case .applied(let changes):
            logger.notice("\(name): every uplink back in the rotation (\(changes.lines.count) changes); exiting")
            return 0
        case .inSync:
            logger.notice("\(name): exiting; the installed state is as the config says")
            return 0
        case .appliedWithoutRecord(let changes, let error):
            let count = changes.lines.count
            logger.error(
                "\(name): every uplink back (\(count) changes), but the sysctl record could not be written: \(error)")
            return 1
        case .busy:
            logger.error("\(name): \(LockBusy()); \(left)")
            return 1
        case .refused(let problems):
            logger.error("\(name): \(problems.joined(separator: "; ")); \(left)")
            return 1
        case .kernelRefused(let error):
            logger.error("\(name): \(error); \(left)")
            return 1
        case .incompleteUndo(let error):
            logger.error("\(name): \(error); \(left)")
            return 1
        }
    }

    // MARK: Metrics

    private func renderMetrics() -> String {
        metricsText.render(
            config: config, health: health, backends: backendHealth,
            counters: (try? reconciler.kernel.counters()) ?? [:],
            links: (try? reconciler.kernel.routing.links()) ?? [:])
    }
}
