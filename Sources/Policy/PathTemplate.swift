/// Route templates as the contract writes them: `/flows/{id}/start`, where `{name}` matches exactly one
/// path segment. Policy rules and the gateway's route table match paths the same way through this.
public enum PathTemplate {
    /// Whether the canonical `path` fits `template`.
    public static func matches(_ template: some StringProtocol, path: some StringProtocol) -> Bool {
        self.matches(segments: self.segments(of: template), path: path)
    }

    static func matches(segments template: [Substring], path: some StringProtocol) -> Bool {
        let requested = path.split(separator: "/", omittingEmptySubsequences: true)
        guard requested.count == template.count else { return false }
        return zip(template, requested).allSatisfy { self.isParameter($0) || $0 == $1 }
    }

    static func segments(of template: some StringProtocol) -> [Substring] {
        String(template).split(separator: "/", omittingEmptySubsequences: true)
    }

    /// `{name}`: a segment that matches any one path segment.
    static func isParameter(_ segment: Substring) -> Bool {
        segment.hasPrefix("{") && segment.hasSuffix("}") && segment.count > 2
    }
}
