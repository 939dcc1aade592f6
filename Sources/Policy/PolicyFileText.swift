import Foundation

/// Reads a policy file's text, refusing what no policy file needs and what could make decoding one cost
/// without bound: more than 1 MiB, or YAML anchors and aliases (`&name`, `*name`), through which a small
/// file expands into millions of entries.
enum PolicyFileText {
    static let maximumBytes = 1 << 20

    static func read(_ file: String) throws(PolicyError) -> String {
        let text: String
        do {
            text = try String(contentsOfFile: file, encoding: .utf8)
        } catch {
            throw PolicyError(file: file, reason: "cannot be read (does the policy directory exist?)")
        }
        guard text.utf8.count <= Self.maximumBytes else {
            throw PolicyError(file: file, reason: "is larger than 1 MiB")
        }
        if let line = Self.lineWithAnchorOrAlias(text) {
            throw PolicyError(file: file, line: line, reason: "uses a YAML anchor or alias, which policy files do not support")
        }
        return text
    }

    /// The first line (1-based) with an anchor or alias outside quotes and comments, if any.
    static func lineWithAnchorOrAlias(_ text: String) -> Int? {
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var quote: Character?
            var previous: Character = " "
            for character in line {
                if let open = quote {
                    if character == open { quote = nil }
                } else if character == "\"" || character == "'" {
                    quote = character
                } else if character == "#" && (previous == " " || previous == "\t") {
                    break
                } else if (character == "&" || character == "*") && " \t[{,:-".contains(previous) {
                    return index + 1
                }
                previous = character
            }
        }
        return nil
    }
}
