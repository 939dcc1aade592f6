import PortcullisCore
import Testing

@Suite("x-request-id acceptance")
struct RequestIDTests {
    @Test("an acceptable caller id is kept", arguments: ["abc", "req-42_x.Y~", String(repeating: "a", count: 128)])
    func kept(candidate: String) {
        #expect(RequestID(from: candidate).value == candidate)
    }

    @Test(
        "an unacceptable caller id is replaced",
        arguments: ["", "has space", "tab\there", String(repeating: "a", count: 129), "ünïcode", "line\nbreak"]
    )
    func replaced(candidate: String) {
        let id = RequestID(from: candidate)
        #expect(id.value != candidate)
        #expect(RequestID.isAcceptable(id.value))
    }

    @Test("generated ids are 32 hex characters and distinct")
    func generated() {
        let ids = (0..<100).map { _ in RequestID.generate().value }
        #expect(Set(ids).count == 100)
        #expect(ids.allSatisfy { $0.count == 32 && $0.allSatisfy(\.isHexDigit) })
    }

    @Test("a caller id is accepted as it is, or not at all", arguments: [("abc", true), ("", false), ("has space", false), (nil, false)])
    func accepting(candidate: String?, accepted: Bool) {
        #expect(RequestID.accepting(candidate)?.value == (accepted ? candidate : nil))
    }
}
