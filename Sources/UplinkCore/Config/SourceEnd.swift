/// Where a config's text ends, in libyaml's lines and columns: a line ends at \n, \r, \r\n,
/// U+0085, U+2028 or U+2029, and a column is a character. libyaml places the end of a text
/// without a final line break at the start of one more line, which no editor shows: places
/// after the end are moved back to it, just after the last character.
struct SourceEnd {
    let line: Int
    let column: Int

    init(_ text: String) {
        var line = 1
        var column = 1
        var previous: Unicode.Scalar?
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\n" where previous == "\r":
                break  // \r\n is one line break
            case "\n", "\r", "\u{85}", "\u{2028}", "\u{2029}":
                line += 1
                column = 1
            default:
                column += 1
            }
            previous = scalar
        }
        self.line = line
        self.column = column
    }

    /// `place` in the text, or the end of the text when it lies after it.
    func clamped(_ place: (line: Int, column: Int)) -> (line: Int, column: Int) {
        place > (line, column) ? (line, column) : place
    }
}
