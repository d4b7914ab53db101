/// The candidate closest to `word` by edit distance, if it is close enough to be a likely typo.
func closestMatch(to word: String, among candidates: [String]) -> String? {
    let scored = candidates.map { ($0, editDistance(word.lowercased(), $0)) }
    guard let best = scored.min(by: { $0.1 < $1.1 }) else { return nil }
    return best.1 <= max(2, word.count / 3) ? best.0 : nil
}

/// Levenshtein distance over characters.
func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a)
    let b = Array(b)
    var previous = Array(0...b.count)
    for i in 1...max(a.count, 1) where !a.isEmpty {
        var current = [i] + [Int](repeating: 0, count: b.count)
        for j in 1...max(b.count, 1) where !b.isEmpty {
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        previous = current
    }
    return a.isEmpty ? b.count : previous[b.count]
}

/// `'a', 'b' or 'c'` (`conjunction` "or"): how an error lists what is allowed, or what it names.
func quotedList(_ words: [String], _ conjunction: String) -> String {
    var quoted = words.map { "'\($0)'" }
    guard let last = quoted.popLast() else { return "" }
    return quoted.isEmpty ? last : quoted.joined(separator: ", ") + " \(conjunction) " + last
}
