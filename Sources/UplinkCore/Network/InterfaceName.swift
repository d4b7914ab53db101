/// Why a string cannot name a Linux network interface, or nil if it can.
/// The kernel's rule (dev_valid_name) plus the characters nftables and sh cannot carry safely.
public func interfaceNameProblem(_ name: String) -> String? {
    let bytes = Array(name.utf8)
    if bytes.isEmpty { return "an interface name cannot be empty" }
    if bytes.count > 15 { return "interface name '\(name)' is \(bytes.count) bytes long; Linux allows at most 15" }
    if name == "." || name == ".." { return "'\(name)' is not a valid interface name" }
    if let bad = name.unicodeScalars.first(where: { !isInterfaceNameScalar($0) }) {
        let shown =
            bad == " "
            ? "a space"
            : (bad.properties.isWhitespace || bad.value < 0x20 ? "a control or blank character" : "'\(bad)'")
        return
            "interface name '\(name)' contains \(shown); allowed are printable "
            + "ASCII characters except '/', ':', '\"', '\\' and blanks"
    }
    return nil
}

private func isInterfaceNameScalar(_ scalar: Unicode.Scalar) -> Bool {
    scalar.value > 0x20 && scalar.value < 0x7f && !"/:\"\\".unicodeScalars.contains(scalar)
}
