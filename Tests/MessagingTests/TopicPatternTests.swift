import Messaging
import Testing

@Suite("Topic patterns")
struct TopicPatternTests {
    @Test(
        "patterns match as AMQP topic exchanges do",
        arguments: [
            ("flow.*", "flow.starting", true),
            ("flow.*", "flow.started", true),
            ("flow.*", "flow", false),
            ("flow.*", "flow.a.b", false),
            ("flow.#", "flow", true),
            ("flow.#", "flow.starting", true),
            ("flow.#", "flow.a.b.c", true),
            ("flow.#", "flowrepo.flow.created", false),
            ("#", "anything.at.all", true),
            ("#", "x", true),
            ("audit.*.decision", "audit.authz.decision", true),
            ("audit.*.decision", "audit.decision", false),
            ("audit.*.decision", "audit.authz.login", false),
            ("audit.#", "audit.iam.login", true),
            ("#.decision", "audit.authz.decision", true),
            ("#.decision", "decision", true),
            ("a.#.z", "a.z", true),
            ("a.#.z", "a.b.c.z", true),
            ("a.#.z", "a.b.c", false),
            ("*.*", "a.b", true),
            ("*", "a.b", false),
            ("iam.user.created", "iam.user.created", true),
            ("iam.user.created", "iam.user.deleted", false),
            ("#.#", "a", true),
        ]
    )
    func matching(pattern: String, topic: String, matches: Bool) throws {
        #expect(try TopicPattern(pattern).matches(topic) == matches)
    }

    @Test("malformed patterns are refused", arguments: ["", "flow..x", ".flow", "flow.", "fl*w", "a.b#", "a.#b"])
    func malformedPatterns(pattern: String) {
        #expect(throws: MessagingError.invalidPattern(pattern)) { try TopicPattern(pattern) }
    }

    @Test("topics must be plain dotted words", arguments: [("flow.started", true), ("flow.*", false), ("", false), ("a..b", false), ("#", false)])
    func topics(topic: String, valid: Bool) {
        #expect(TopicPattern.isValidTopic(topic) == valid)
    }
}
