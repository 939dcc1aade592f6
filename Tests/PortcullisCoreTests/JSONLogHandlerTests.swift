import Foundation
import Logging
import Testing

@testable import PortcullisCore

@Suite("JSON log lines")
struct JSONLogHandlerTests {
    @Test("strings with quotes, backslashes and control characters stay valid JSON")
    func escaping() throws {
        let nasty = "quote\" back\\slash \n newline \t tab \u{01} control é unicode"
        let json = "{\"v\":\(LineLogHandler.quote(nasty))}"
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: String])
        #expect(object["v"] == nasty)
    }

    @Test("nested metadata encodes as JSON arrays and objects")
    func nested() throws {
        let value = Logger.Metadata.Value.dictionary(["list": .array(["a", .stringConvertible(1)]), "s": "x"])
        let object = try JSONSerialization.jsonObject(with: Data(LineLogHandler.encode(value).utf8)) as? [String: Any]
        #expect(object?["s"] as? String == "x")
        #expect(object?["list"] as? [String] == ["a", "1"])
    }
}
