import ArgumentParser
import Policy
import PortcullisCore

struct PolicyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy", abstract: "Work with the policy files.", subcommands: [PolicyTest.self])
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
