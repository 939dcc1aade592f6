import PortcullisCore
import Testing

@Suite("Bounding text by its UTF-8 bytes")
struct UTF8PrefixTests {
    @Test("short text is kept whole; ASCII is cut at the limit")
    func ascii() {
        #expect("abc".utf8Prefix(3) == "abc")
        #expect("abcdef".utf8Prefix(4) == "abcd")
        #expect("".utf8Prefix(0) == "")
        #expect("abc".utf8Prefix(0) == "")
    }

    @Test("a multi-byte scalar that does not fit is left out whole")
    func scalarBoundary() {
        // "é" is two bytes, "€" three.
        #expect("aé".utf8Prefix(2) == "a")
        #expect("aé".utf8Prefix(3) == "aé")
        #expect("€€".utf8Prefix(5) == "€")
        #expect("€€".utf8Prefix(6) == "€€")
    }

    /// One character of 10,001 scalars: `prefix(512)` would keep all 20,001 bytes of it.
    @Test("one character of thousands of combining marks is bounded too")
    func combiningMarks() {
        let text = "e" + String(repeating: "\u{301}", count: 10_000)
        #expect(text.count == 1)
        let bounded = text.utf8Prefix(512)
        #expect(bounded.utf8.count <= 512)
        #expect(bounded.utf8.count >= 511)
        #expect(text.utf8.starts(with: bounded.utf8))
    }

    @Test("a substring is bounded the same way")
    func substring() {
        let text = "xx/aé/b"
        #expect(text.dropFirst(2).utf8Prefix(3) == "/a")
    }

    @Test("the mark is added only when something was cut")
    func marking() {
        #expect("abc".utf8Prefix(3, marking: "...") == "abc")
        #expect("abcd".utf8Prefix(3, marking: "...") == "abc...")
        // "é" does not fit in 2 bytes after "a": cut, so marked, though fewer than 2 bytes are kept.
        #expect("aé".utf8Prefix(2, marking: "…") == "a…")
    }
}
