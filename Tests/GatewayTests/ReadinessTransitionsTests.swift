import Gateway
import GatewayKit
import GatewayTestSupport
import Logging
import PortcullisCore
import Testing

@Suite("Readiness changes are logged")
struct ReadinessTransitionsTests {
    @Test("a check that starts failing is logged once with its problem, and the recovery once")
    func transitions() {
        let capture = CapturedLog()
        let transitions = ReadinessTransitions(logger: capture.logger)
        let pass = ReadinessResult(ready: true)
        let down = ReadinessResult(ready: false, info: ["problem": "the database cannot be reached"])
        transitions.observe(["database": pass, "audit": pass])
        #expect(capture.lines.isEmpty, "nothing to say while everything passes")
        transitions.observe(["database": down, "audit": pass])
        transitions.observe(["database": down, "audit": pass])
        #expect(capture.lines.count == 1, "a failure that goes on is logged once: \(capture.lines.map(\.message))")
        #expect(capture.lines.last?.level == .warning)
        #expect(capture.lines.last?.metadata["readiness.failed"] == "database")
        #expect(capture.lines.last?.metadata["readiness.problems"] == "database: the database cannot be reached")
        transitions.observe(["database": down, "audit": ReadinessResult(ready: false)])
        #expect(capture.lines.count == 2)
        #expect(capture.lines.last?.metadata["readiness.failed"] == "audit,database")
        transitions.observe(["database": pass, "audit": pass])
        #expect(capture.lines.count == 3)
        #expect(capture.lines.last?.message == "readiness passes again")
        #expect(capture.lines.last?.metadata["readiness.recovered"] == "audit,database")
    }
}
