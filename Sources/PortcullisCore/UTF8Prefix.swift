extension StringProtocol {
    /// The longest prefix of at most `limit` bytes of UTF-8, cut between Unicode scalars (never inside one).
    ///
    /// For bounding text a caller sent (paths, user agents) before it is stored or logged: `prefix(_:)`
    /// counts characters, and one character may be any number of scalars (a letter with thousands of
    /// combining marks), so it bounds nothing.
    public func utf8Prefix(_ limit: Int) -> String {
        guard self.utf8.count > limit else { return String(self) }
        var length = 0
        for scalar in self.unicodeScalars {
            let width = UTF8.width(scalar)
            guard length + width <= limit else { break }
            length += width
        }
        // `length` ends between two scalars, so these bytes decode without a replacement character.
        return String(decoding: self.utf8.prefix(length), as: UTF8.self)
    }

    /// ``utf8Prefix(_:)`` followed by `mark` when something was cut, so a reader sees that the text went on.
    public func utf8Prefix(_ limit: Int, marking mark: String) -> String {
        let kept = self.utf8Prefix(limit)
        return kept.utf8.count < self.utf8.count ? kept + mark : kept
    }
}
