/// An argument as POSIX sh reads it back unchanged: bare when it is made only of safe
/// characters, otherwise in single quotes (a quote inside written as '\'').
public func shellQuoted(_ argument: String) -> String {
    // By byte: every byte of a non-ASCII character is above 0x7f, so such an argument is quoted.
    let safe = argument.utf8.allSatisfy { byte in
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return "_-./:=,@%+".utf8.contains(byte)
        }
    }
    if safe && !argument.isEmpty { return argument }
    return "'" + argument.split(separator: "'", omittingEmptySubsequences: false).joined(separator: "'\\''") + "'"
}

/// One command line, every argument quoted as needed.
public func shellCommand(_ arguments: [String]) -> String {
    arguments.map(shellQuoted).joined(separator: " ")
}
