/// An AMQP topic pattern: dot-separated words, where `*` matches exactly one word and `#` matches zero
/// or more words (`flow.*`, `audit.#`, `#`, `audit.*.decision`).
public struct TopicPattern: Sendable, Hashable, CustomStringConvertible {
    public let words: [Substring]

    public var description: String { self.words.joined(separator: ".") }

    /// - Throws: ``MessagingError/invalidPattern(_:)`` for empty words or wildcards inside words.
    public init(_ pattern: String) throws(MessagingError) {
        let words = pattern.split(separator: ".", omittingEmptySubsequences: false)
        guard !pattern.isEmpty,
            words.allSatisfy({ !$0.isEmpty && ($0 == "*" || $0 == "#" || (!$0.contains("*") && !$0.contains("#"))) })
        else {
            throw .invalidPattern(pattern)
        }
        self.words = words
    }

    /// Whether the topic `name` (no wildcards) matches this pattern.
    public func matches(_ name: String) -> Bool {
        let topic = name.split(separator: ".", omittingEmptySubsequences: false)
        // matched[i][j]: pattern words from i on match topic words from j on. Filled backwards; O(p·t).
        let patternCount = self.words.count
        let topicCount = topic.count
        var matched = Array(repeating: Array(repeating: false, count: topicCount + 1), count: patternCount + 1)
        matched[patternCount][topicCount] = true
        for i in stride(from: patternCount - 1, through: 0, by: -1) {
            for j in stride(from: topicCount, through: 0, by: -1) {
                switch self.words[i] {
                case "#":
                    matched[i][j] = matched[i + 1][j] || (j < topicCount && matched[i][j + 1])
                case "*":
                    matched[i][j] = j < topicCount && matched[i + 1][j + 1]
                case let word:
                    matched[i][j] = j < topicCount && topic[j] == word && matched[i + 1][j + 1]
                }
            }
        }
        return matched[0][0]
    }

    /// Whether `name` can be published: non-empty dot-separated words without wildcards.
    public static func isValidTopic(_ name: String) -> Bool {
        !name.isEmpty
            && name.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { !$0.isEmpty && !$0.contains("*") && !$0.contains("#") }
    }
}
