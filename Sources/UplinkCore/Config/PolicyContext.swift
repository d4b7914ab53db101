/// What the policy checks need from the rest of the config; each part nil when it was invalid
/// (already reported), so that the checks depending on it are skipped rather than guessed.
struct PolicyContext {
    /// Every uplink's name with the families it carries (nil where `gateway` or `family` was invalid);
    /// nil when some uplink has no valid name, since then an unknown name may be that one.
    var uplinks: [(name: String, families: [IPFamily]?)]?
    var balance: BalanceMode?
    var traffic: Set<TrafficKind>?

    init(drafts: [ConfigParser.UplinkDraft], balance: BalanceMode?, traffic: Set<TrafficKind>?) {
        let named = drafts.compactMap { draft in draft.name.map { (name: $0, families: draft.families) } }
        uplinks = named.count == drafts.count ? named : nil
        self.balance = balance
        self.traffic = traffic
    }

    /// The families some uplink carries.
    var configuredFamilies: Set<IPFamily> { Set((uplinks ?? []).flatMap { $0.families ?? [] }) }

    func families(of name: String) -> [IPFamily]? { uplinks?.first { $0.name == name }?.families }
}
