/// The lines that differ between two texts, as `diff` shows them: `- ` only in the first, `+ `
/// only in the second, around a longest common subsequence (a line that moved shows once as
/// `-` and once as `+`). Quadratic: for listings of a few thousand lines, as tests compare.
enum LineDiff {
    static func lines(_ first: String, _ second: String) -> [String] {
        let a = first.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let b = second.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        // common[i][j]: the longest common subsequence of a[i...] and b[j...].
        var common = [[Int32]](repeating: [Int32](repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in a.indices.reversed() {
            for j in b.indices.reversed() {
                common[i][j] = a[i] == b[j] ? common[i + 1][j + 1] + 1 : max(common[i + 1][j], common[i][j + 1])
            }
        }
        var result: [String] = []
        var i = 0
        var j = 0
        while i < a.count || j < b.count {
            if i < a.count && j < b.count && a[i] == b[j] {
                i += 1
                j += 1
            } else if j == b.count || (i < a.count && common[i + 1][j] >= common[i][j + 1]) {
                result.append("- " + a[i])
                i += 1
            } else {
                result.append("+ " + b[j])
                j += 1
            }
        }
        return result
    }
}
