import CYaml

/// A mapping key that is, or holds, an alias of a list or mapping. Yams hashes every key while
/// composing, to find duplicates, and an alias stands for the whole of its anchor: a key that
/// repeats nested anchors (`? *a9`, where each `*aN` lists `*aN-1` nine times) takes
/// exponential time before any check could run. uplinkctl's keys are plain words, so such a
/// key is found here, from libyaml's events, and the text is never composed.
struct AliasedKey {
    let alias: String
    /// As libyaml counts them, from 1.
    let line: Int
    let column: Int

    /// The first such key of `text`; nil when there is none, or when the text is not valid YAML
    /// before it (composing reports that).
    static func first(in text: String) -> AliasedKey? {
        // No alias without a '*': the common case costs one look at the bytes.
        guard text.utf8.contains(UInt8(ascii: "*")) else { return nil }
        var bytes = Array(text.utf8)
        return bytes.withUnsafeMutableBufferPointer { buffer in
            var parser = yaml_parser_t()
            guard yaml_parser_initialize(&parser) == 1 else { return nil }
            defer { yaml_parser_delete(&parser) }
            yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING)
            yaml_parser_set_input_string(&parser, buffer.baseAddress, buffer.count)
            var walk = Walk()
            var event = yaml_event_t()
            while yaml_parser_parse(&parser, &event) == 1 {
                defer { yaml_event_delete(&event) }
                if event.type == YAML_STREAM_END_EVENT { return nil }
                if let found = walk.step(event) { return found }
            }
            return nil
        }
    }

    /// Where the walk through the events is: the open collections, whether each mapping waits
    /// for a key, and which anchors name collections.
    private struct Walk {
        /// Per open collection: nil for a list, for a mapping whether its next node is a key.
        var open: [Bool?] = []
        /// How many collections were open when the key being read began; nil outside keys.
        var keyDepth: Int?
        var collections: [String: Bool] = [:]

        mutating func step(_ event: yaml_event_t) -> AliasedKey? {
            switch event.type {
            case YAML_DOCUMENT_START_EVENT:
                collections = [:]  // anchors belong to their document
            case YAML_SCALAR_EVENT:
                begin()
                name(event.data.scalar.anchor, collection: false)
                end()
            case YAML_ALIAS_EVENT:
                begin()
                let alias = text(event.data.alias.anchor)
                if keyDepth != nil, collections[alias] == true {
                    let mark = event.start_mark
                    return AliasedKey(alias: alias, line: Int(mark.line) + 1, column: Int(mark.column) + 1)
                }
                end()
            case YAML_SEQUENCE_START_EVENT:
                begin()
                name(event.data.sequence_start.anchor, collection: true)
                open.append(nil)
            case YAML_MAPPING_START_EVENT:
                begin()
                name(event.data.mapping_start.anchor, collection: true)
                open.append(true)
            case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                open.removeLast()
                end()
            default:
                break
            }
            return nil
        }

        /// A node begins: a key if its mapping waits for one.
        private mutating func begin() {
            if keyDepth == nil, open.last == true { keyDepth = open.count }
        }

        /// A node is complete: its mapping waits for the other half of the pair.
        private mutating func end() {
            guard let last = open.last, let waitsForKey = last else { return }
            open[open.count - 1] = !waitsForKey
            if keyDepth == open.count { keyDepth = nil }
        }

        private mutating func name(_ anchor: UnsafeMutablePointer<yaml_char_t>?, collection: Bool) {
            guard anchor != nil else { return }
            collections[text(anchor)] = collection
        }

        private func text(_ pointer: UnsafeMutablePointer<yaml_char_t>?) -> String {
            pointer.map { String(cString: $0) } ?? ""
        }
    }
}
