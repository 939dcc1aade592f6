import Testing

@testable import Messaging

@Suite("Handler error texts")
struct ErrorTextTests {
    @Test("a short error is kept as it is")
    func shortKept() {
        #expect(MessageStore.truncated("downstream is broken") == "downstream is broken")
        #expect(MessageStore.truncated(String(repeating: "é", count: 1000)) == String(repeating: "é", count: 1000))
    }

    @Test("a long error is cut to 2,000 bytes between scalars, however few characters it has")
    func boundedInBytes() {
        // One character: a letter with 100,000 combining marks, 200,001 bytes of UTF-8.
        let one = "a" + String(repeating: "\u{301}", count: 100_000)
        #expect(one.count == 1)
        let cut = MessageStore.truncated(one)
        #expect(cut.hasSuffix("…"))
        #expect(cut.utf8.count <= 2000 + "…".utf8.count)
        #expect(!cut.unicodeScalars.contains("\u{FFFD}"))
        let long = String(repeating: "x", count: 5000)
        #expect(MessageStore.truncated(long) == String(repeating: "x", count: 2000) + "…")
    }
}
