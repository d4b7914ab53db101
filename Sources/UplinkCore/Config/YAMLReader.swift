import Yams

/// Reading typed values out of YAML nodes while recording, with their position, whatever
/// does not fit: the parser keeps going so that one run reports every problem in a file.
struct YAMLReader {
    let file: String
    let end: SourceEnd
    private(set) var diagnostics: [ConfigDiagnostic] = []

    init(file: String, text: String) {
        self.file = file
        end = SourceEnd(text)
    }

    func location(of node: Node) -> SourceLocation {
        location(node.mark.map { ($0.line, $0.column) } ?? (1, 1))
    }

    /// A place libyaml gave, inside the text.
    func location(_ place: (line: Int, column: Int)) -> SourceLocation {
        let (line, column) = end.clamped(place)
        return SourceLocation(file: file, line: line, column: column)
    }

    mutating func error(_ node: Node, _ message: String) {
        diagnostics.append(ConfigDiagnostic(.error, at: location(of: node), message))
    }

    mutating func warning(_ node: Node, _ message: String) {
        diagnostics.append(ConfigDiagnostic(.warning, at: location(of: node), message))
    }

    mutating func record(_ diagnostic: ConfigDiagnostic) { diagnostics.append(diagnostic) }

    /// The key/value pairs of a mapping whose keys are checked against `allowed`;
    /// unknown keys are reported with the nearest allowed one.
    mutating func fields(of node: Node, named what: String, allowed: [String]) -> [String: (key: Node, value: Node)] {
        guard case .mapping(let mapping) = node else {
            error(
                node,
                "\(what) must be a mapping of keys to values (\(kindName(node)) "
                    + "found); allowed keys: \(allowed.joined(separator: ", "))"
            )
            return [:]
        }
        var result: [String: (key: Node, value: Node)] = [:]
        for (key, value) in mapping {
            guard case .scalar(let scalar) = key else {
                error(key, "keys of \(what) must be plain words, not \(kindName(key))")
                continue
            }
            let name = scalar.string
            if allowed.contains(name) {
                result[name] = (key, value)
            } else if let suggestion = closestMatch(to: name, among: allowed) {
                error(
                    key,
                    "unknown key '\(name)' in \(what); did you mean '\(suggestion)'? "
                        + "Allowed keys: \(allowed.joined(separator: ", "))"
                )
            } else {
                error(key, "unknown key '\(name)' in \(what); allowed keys: \(allowed.joined(separator: ", "))")
            }
        }
        return result
    }

    /// A string scalar, or nil after reporting what was found instead; `what` says what is expected.
    mutating func string(_ node: Node, key: String, what: String) -> String? {
        guard case .scalar(let scalar) = node, !isNull(scalar) else {
            error(node, "'\(key)' must be \(what) (\(kindName(node)) found)")
            return nil
        }
        return scalar.string
    }

    /// An integer written in decimal or as 0x-prefixed hexadecimal, within `range`.
    mutating func integer(_ node: Node, key: String, in range: ClosedRange<UInt64>, what: String) -> UInt64? {
        guard case .scalar(let scalar) = node, !isNull(scalar) else {
            error(node, "'\(key)' must be \(what) (\(kindName(node)) found)")
            return nil
        }
        guard scalar.style == .plain else {
            error(node, "'\(key)' must be \(what), written without quotes ('\(scalar.string)' is quoted)")
            return nil
        }
        let text = scalar.string
        let value: UInt64?
        if text.lowercased().hasPrefix("0x") {
            value = UInt64(text.dropFirst(2), radix: 16)
        } else {
            value = UInt64(text, radix: 10)
        }
        guard let value, range.contains(value) else {
            error(node, "'\(key)' must be \(what); '\(text)' is not")
            return nil
        }
        return value
    }

    mutating func boolean(_ node: Node, key: String) -> Bool? {
        if case .scalar(let scalar) = node, scalar.style == .plain {
            switch scalar.string {
            case "true", "True", "TRUE": return true
            case "false", "False", "FALSE": return false
            default: break
            }
        }
        error(node, "'\(key)' must be true or false (\(kindName(node)) found)")
        return nil
    }

    /// One of a fixed set of words; `synonyms` (lowercase) are other names for them, offered as the hint.
    mutating func choice<Choice: RawRepresentable & CaseIterable>(
        _ node: Node, key: String, as type: Choice.Type,
        synonyms: [String: Choice] = [:]
    ) -> Choice?
    where Choice.RawValue == String {
        let allowed = Choice.allCases.map(\.rawValue)
        guard let text = string(node, key: key, what: quotedList(allowed, "or")) else { return nil }
        if let value = Choice(rawValue: text) { return value }
        let suggestion = synonyms[text.lowercased()]?.rawValue ?? closestMatch(to: text, among: allowed)
        let hint = suggestion.map { " (did you mean '\($0)'?)" } ?? ""
        error(node, "'\(key)' cannot be '\(text)'\(hint); allowed: \(quotedList(allowed, "or"))")
        return nil
    }

    mutating func sequence(_ node: Node, key: String, example: String) -> [Node]? {
        guard case .sequence(let sequence) = node else {
            error(node, "'\(key)' must be a list such as \(example) (\(kindName(node)) found)")
            return nil
        }
        return Array(sequence)
    }

    private func isNull(_ scalar: Node.Scalar) -> Bool {
        scalar.style == .plain && ["", "~", "null", "Null", "NULL"].contains(scalar.string)
    }

    func kindName(_ node: Node) -> String {
        switch node {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        case .scalar(let scalar): return isNull(scalar) ? "an empty value" : "'\(scalar.string)'"
        }
    }
}
