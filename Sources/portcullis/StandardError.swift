import Foundation

/// Lines for the operator that are not log entries: fatal start-up problems.
enum StandardError {
    static func write(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }
}

/// A line for the operator at the console (standard output), outside the log stream.
enum Console {
    static func write(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }
}
