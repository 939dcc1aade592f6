/// Route templates as the contract writes them: `/flows/{id}/start`, where `{name}` matches exactly one
/// path segment. Policy rules and the gateway's route table match paths the same way through this.
public enum PathTemplate {
    /// Whether the canonical `path` fits `template`.
    public static func matches(_ template: some StringProtocol, path: some StringProtocol) -> Bool {
        self.matches(segments: self.segments(of: template), path: path)
    }

    static func matches(segments template: [Substring], path: some StringProtocol) -> Bool {
        self.matches(segments: template, requested: self.segments(of: path))
    }

    /// Whether the path split into `requested` fits the template split into `template`.
    static func matches(segments template: [Substring], requested: [Substring]) -> Bool {
        guard requested.count == template.count else { return false }
        for (mine, theirs) in zip(template, requested) where mine != theirs && !self.isParameter(mine) {
            return false
        }
        return true
    }

    static func segments(of template: some StringProtocol) -> [Substring] {
        // Over the bytes: '/' is never part of a longer UTF-8 sequence, and this runs for every request.
        String(template).utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: true).map { Substring($0) }
    }

    /// `{name}`: a segment that matches any one path segment.
    static func isParameter(_ segment: Substring) -> Bool {
        segment.hasPrefix("{") && segment.hasSuffix("}") && segment.count > 2
    }
}
