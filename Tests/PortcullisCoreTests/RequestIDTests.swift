import PortcullisCore
import Testing

@Suite("x-request-id acceptance")
struct RequestIDTests {
    @Test("an acceptable caller id is kept", arguments: ["abc", "req-42_x.Y~", String(repeating: "a", count: 128)])
    func kept(candidate: String) {
        #expect(RequestID.accepting(candidate)?.value == candidate)
    }

    @Test(
        "an unacceptable caller id is not accepted",
        arguments: ["", "has space", "tab\there", String(repeating: "a", count: 129), "ünïcode", "line\nbreak"]
    )
    func replaced(candidate: String) {
        #expect(RequestID.accepting(candidate) == nil)
        #expect(RequestID.accepting(nil) == nil)
    }

    @Test("generated ids are 32 hex characters and distinct")
    func generated() {
        let ids = (0..<100).map { _ in RequestID.generate().value }
        #expect(Set(ids).count == 100)
        #expect(ids.allSatisfy { $0.count == 32 && $0.allSatisfy(\.isHexDigit) })
    }
}
