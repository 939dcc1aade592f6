import ArgumentParser
import AuditLog
import Foundation
import Gateway
import Policy
import PortcullisCore
import Storage

struct PolicyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy", abstract: "Work with the policy files.", subcommands: [PolicyTest.self, PolicyDiffCommand.self])
}

/// `portcullis policy test`: decides every case of `<policies>/tests/*.yaml` and prints pass or fail.
struct PolicyTest: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "test",
        abstract: "Run the policy test cases in <policies>/tests/*.yaml; exit 0 when all pass and every rule is tested, 1 otherwise."
    )

    @OptionGroup var options: ConfigurationOptions

    @Option(name: .customLong("tests"), help: "Directory of test files (default: <policies>/tests).")
    var testsDirectory: String?

    func run() async throws {
        let configuration = try self.options.load()
        let policies = try Startup.loadPolicies(configuration)
        let suite: PolicyTestSuite
        do {
            suite = try PolicyTestSuite.load(directory: self.testsDirectory ?? configuration.policiesDirectory + "/tests")
        } catch {
            Console.error("portcullis: invalid policy tests: \(error)")
            throw ExitCode(2)
        }
        let report = suite.run(against: policies)
        for result in report.results {
            let testCase = result.testCase
            let place = "\(testCase.file):\(testCase.line)"
            if result.passed {
                Console.write("PASS \(place) \(testCase.name)")
            } else {
                let expected = "\(testCase.outcome.rawValue) by \(testCase.rule ?? "no rule")\(testCase.reason.map { " (\($0))" } ?? "")"
                let got = "\(result.decision.outcome.rawValue) by \(result.decision.rule ?? "no rule") (\(result.decision.reason))"
                Console.write("FAIL \(place) \(testCase.name): expected \(expected), got \(got)")
            }
        }
        for rule in report.untestedRules {
            Console.write("FAIL rule '\(rule)' decides no test case: add one to \(configuration.policiesDirectory)/tests")
        }
        let failed = report.results.filter { !$0.passed }.count
        Console.write(
            "\(report.results.count - failed) of \(report.results.count) cases passed; \(report.untestedRules.count) rules untested"
                + " (policy revision \(policies.revision))")
        if !report.passed {
            throw ExitCode(1)
        }
    }
}

/// `portcullis policy diff`: which recorded requests a candidate set of policy files would decide
/// differently; exit 1 when any allowed request would be refused (a CI gate for policy changes).
struct PolicyDiffCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "Replay the route decisions of a period against candidate policy files; exit 1 when any allow would become a deny.",
        discussion: "Reads the audit log of the gateway's database (DATABASE_URL or the data directory), like `audit verify`."
    )

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case text, json
    }

    @OptionGroup var options: ConfigurationOptions

    @Option(name: .customLong("candidate"), help: "Directory with the candidate permissions.yaml, roles.yaml and routes.yaml.")
    var candidate: String

    @Option(name: .customLong("since"), help: "How far back to replay, e.g. 30m, 24h, 7d (default 24h).")
    var since = "24h"

    @Option(name: .customLong("format"), help: "text or json.")
    var format = Format.text

    func run() async throws {
        let configuration = try self.options.load()
        guard let period = DurationText.parse(self.since) else {
            Console.error("portcullis: --since \"\(self.since)\" is not a duration such as 30m, 24h or 7d")
            throw ExitCode(2)
        }
        let candidate: PolicySet
        do {
            candidate = try PolicySet.load(directory: self.candidate)
        } catch {
            Console.error("portcullis: invalid candidate policies: \(error)")
            throw ExitCode(2)
        }
        let logger = LoggingSetup.bootstrap(configuration)
        let database = try await Startup.openDatabase(configuration, logger: logger)
        let report = try await Startup.withRunning(database) {
            try await MigrationRunner(database: database, migrations: GatewayAssembly.migrations(), logger: logger).migrate()
            return try await PolicyDiffRun.run(database: database, candidate: candidate, period: period, now: Date())
        }
        switch self.format {
        case .json: Console.write(try JSONCoding.string(report))
        case .text: Console.write(PolicyDiffRun.text(report, since: self.since))
        }
        if report.breaksRequests { throw ExitCode(1) }
        // Records there were, and none could be decided again (made before permission sets were recorded):
        // a gate that checked nothing must not pass.
        if report.compared == 0 && report.withoutPermissions > 0 {
            Console.error(
                "portcullis: no recorded decision of the period could be replayed (\(report.withoutPermissions) without recorded permissions)")
            throw ExitCode(2)
        }
    }
}
