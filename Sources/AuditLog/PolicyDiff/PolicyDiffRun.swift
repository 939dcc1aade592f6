public import Foundation
public import Policy
public import PortcullisCore
public import Storage

/// One policy impact analysis, as `portcullis policy diff` and `GET /api/v1/policy/diff` run it.
public enum PolicyDiffRun {
    /// The report of replaying the last `period` of route decisions against `candidate`.
    public static func run(database: any Database, candidate: PolicySet, period: Duration, now: Date) async throws -> PolicyDiff.Report {
        var diff = PolicyDiff(candidate: candidate)
        let since = Timestamp.milliseconds(now) - Int64(period.components.seconds) * 1000
        try await RecordedDecisions(database: database).replay(since: since, into: &diff)
        return diff.finished
    }

    /// The report for people: one line per group, breaking changes first.
    public static func text(_ report: PolicyDiff.Report, since: String) -> String {
        var lines = [
            "policy diff over the last \(since): \(report.compared) route decisions replayed against candidate \(report.candidateRevision);"
                + " \(report.unchanged) unchanged, \(report.decidedBeforeRules) decided before any rule,"
                + " \(report.withoutPermissions) without recorded permissions (not replayed)"
        ]
        if report.groups.isEmpty { lines.append("no recorded request would change outcome or rule") }
        for group in report.groups {
            let examples = group.requestIds.isEmpty ? "" : " e.g. request \(group.requestIds.joined(separator: ", "))"
            lines.append(
                "\(group.change.rawValue): \(group.count) requests, rule \(group.fromRule ?? "none") -> \(group.toRule ?? "none") (\(group.reason))\(examples)"
            )
        }
        if report.breaksRequests { lines.append("FAIL: the candidate refuses requests that are allowed today") }
        return lines.joined(separator: "\n")
    }
}
