/// Writes compact JSON text field by field, for the few records built on the request path where encoding
/// a `Codable` value (and its key sorting) costs more than the rest of the record: the caller writes the
/// keys in the order it wants them (sorted, for canonical text).
///
/// ```swift
/// var json = CompactJSON()
/// json.open()
/// json.field("id", "r-1")
/// json.field("note", nil as String?)   // nil fields are left out, as `Codable` leaves them out
/// json.close()
/// json.text // {"id":"r-1"}
/// ```
public struct CompactJSON: Sendable {
    public private(set) var bytes: [UInt8] = []
    private var needsComma = false

    public init(capacity: Int = 512) {
        self.bytes.reserveCapacity(capacity)
    }

    public var text: String { String(decoding: self.bytes, as: UTF8.self) }

    /// Starts an object (as a value of the field `key`, when given).
    public mutating func open(_ key: String? = nil) {
        if let key { self.key(key) } else { self.comma() }
        self.bytes.append(UInt8(ascii: "{"))
        self.needsComma = false
    }

    public mutating func close() {
        self.bytes.append(UInt8(ascii: "}"))
        self.needsComma = true
    }

    /// A string field; left out when `value` is nil.
    public mutating func field(_ key: String, _ value: String?) {
        guard let value else { return }
        self.key(key)
        self.string(value)
    }

    /// An integer field.
    public mutating func field(_ key: String, _ value: Int64) {
        self.key(key)
        self.bytes.append(contentsOf: String(value).utf8)
    }

    /// An array of strings as the field `key`; `null` when `values` is nil.
    public mutating func field(_ key: String, strings values: [String]?) {
        self.key(key)
        guard let values else {
            self.bytes.append(contentsOf: "null".utf8)
            return
        }
        self.bytes.append(UInt8(ascii: "["))
        for (index, value) in values.enumerated() {
            if index > 0 { self.bytes.append(UInt8(ascii: ",")) }
            self.string(value)
        }
        self.bytes.append(UInt8(ascii: "]"))
    }

    /// Text that is already JSON (a value encoded elsewhere), as the field `key`.
    public mutating func field(_ key: String, json: some Sequence<UInt8>) {
        self.key(key)
        self.bytes.append(contentsOf: json)
    }

    /// Writes `key` and its colon; the caller writes the value next (a number filled in later, say).
    public mutating func key(_ key: String) {
        self.comma()
        self.string(key)
        self.bytes.append(UInt8(ascii: ":"))
        self.needsComma = true
    }

    private mutating func comma() {
        if self.needsComma { self.bytes.append(UInt8(ascii: ",")) }
    }

    /// `value` as a JSON string (RFC 8259 §7): quotation mark, reverse solidus and the control characters
    /// escaped, everything else as its UTF-8 bytes.
    private mutating func string(_ value: String) {
        self.bytes.append(UInt8(ascii: "\""))
        // Most text (ids, names, paths) needs no escape: checked and copied whole over its contiguous UTF-8
        // (a generic `contains(where:)` over the view cost more than the rest of a decision record).
        var value = value
        let copied = value.withUTF8 { utf8 -> Bool in
            for byte in utf8 where byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { return false }
            self.bytes.append(contentsOf: utf8)
            return true
        }
        if copied {
            self.bytes.append(UInt8(ascii: "\""))
            return
        }
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\""): self.bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): self.bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case UInt8(ascii: "\n"): self.bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case UInt8(ascii: "\r"): self.bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case UInt8(ascii: "\t"): self.bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case 0x08: self.bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "b")])
            case 0x0C: self.bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "f")])
            case 0..<0x20:
                let hex: [UInt8] = Array("0123456789abcdef".utf8)
                self.bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0")])
                self.bytes.append(hex[Int(byte >> 4)])
                self.bytes.append(hex[Int(byte & 0x0f)])
            default: self.bytes.append(byte)
            }
        }
        self.bytes.append(UInt8(ascii: "\""))
    }
}
