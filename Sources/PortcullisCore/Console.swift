public import Foundation

/// Lines for the operator that are not log entries: a generated first password, fatal start-up problems.
public enum Console {
    /// A line on standard output, outside the log stream.
    public static func write(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }

    /// A line on standard error.
    public static func error(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }
}
