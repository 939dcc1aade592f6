import Foundation
public import Logging

/// How log lines are written.
public enum LogFormat: String, Sendable, CaseIterable {
    /// One human-readable line per entry.
    case text
    /// One JSON object per line (`PORTCULLIS_LOG_FORMAT=json`).
    case json
}
