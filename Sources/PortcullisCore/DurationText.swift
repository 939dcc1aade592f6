/// Durations as operators and OIH clients write them: `30s`, `15m`, `2h`, `7d`.
public enum DurationText {
    /// Parses `<positive integer><s|m|h|d>`; nil for anything else.
    public static func parse(_ text: String) -> Duration? {
        guard let unit = text.last, let value = Int64(text.dropLast()), value > 0, value <= 100_000_000 else {
            return nil
        }
        switch unit {
        case "s": return .seconds(value)
        case "m": return .seconds(value * 60)
        case "h": return .seconds(value * 3600)
        case "d": return .seconds(value * 86400)
        default: return nil
        }
    }
}
