/// An argument as POSIX sh reads it back unchanged: bare when it is made only of safe
/// characters, otherwise in single quotes (a quote inside written as '\'').
public func shellQuoted(_ argument: String) -> String {
    let safe = argument.unicodeScalars.allSatisfy { scalar in
        scalar.isASCII && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || "_-./:=,@%+".unicodeScalars.contains(scalar))
    }
    if safe && !argument.isEmpty { return argument }
    return "'" + argument.split(separator: "'", omittingEmptySubsequences: false).joined(separator: "'\\''") + "'"
}

/// One command line, every argument quoted as needed.
public func shellCommand(_ arguments: [String]) -> String {
    arguments.map(shellQuoted).joined(separator: " ")
}
