public import Foundation
public import PortcullisCore

/// Usernames are compared after trimming and case-folding, so `Alice ` and `alice` are one account.
public enum Username {
    public static func canonical(_ username: String) -> String {
        username.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
    }

    /// 1–256 characters after canonicalisation, no control characters.
    public static func isValid(_ canonical: String) -> Bool {
        (1...256).contains(canonical.count) && !canonical.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F }
    }
}
