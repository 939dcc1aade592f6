import Foundation
import PortcullisCore

#if canImport(FoundationXML)
    import FoundationXML
#endif

/// Turns an XML body into JSON for a webhook message's `data`, the way xml2js-style converters do:
/// `<order id="7"><item>a</item><item>b</item></order>` becomes
/// `{"order":{"@id":"7","item":["a","b"]}}`; text of an element with attributes or children is `#text`.
///
/// A document type declaration is refused before parsing: without one no entity but the five predefined
/// ones can exist, so neither entity expansion ("billion laughs") nor external entities can happen.
enum XMLBody {
    struct Refused: Error, Sendable {
        let message: String
    }

    static let maximumDepth = 64
    /// The element the body is parsed inside.
    static let wrapper = "portcullis-xml-body"
    static let maximumElements = 100_000
    /// Attributes one element may have: libxml2 checks an element's attributes for duplicates pairwise,
    /// so one tag with half a million of them costs minutes of CPU before any callback could count them.
    static let maximumAttributes = 256
    /// Namespace declarations a body may make: libxml2 walks its namespace stack for every element and
    /// prefixed attribute, so thousands of declarations make parsing quadratic too.
    static let maximumNamespaces = 64

    static func json(from data: Data) throws(Refused) -> JSONValue {
        guard String(data: data, encoding: .utf8) != nil else { throw Refused(message: "XML bodies must be UTF-8.") }
        // Anywhere in the body, in any case: no document type declaration, no entity declaration.
        let folded = Data(data.map { $0 >= 97 && $0 <= 122 ? $0 - 32 : $0 })
        if folded.range(of: Data("<!DOCTYPE".utf8)) != nil || folded.range(of: Data("<!ENTITY".utf8)) != nil {
            throw Refused(message: "XML with a document type declaration is refused.")
        }
        // The wrapper's name in the body could close the wrapper early and hide what follows.
        if data.range(of: Data(Self.wrapper.utf8)) != nil {
            throw Refused(message: "The body is not well-formed XML with one root element.")
        }
        if Self.occurrences(of: "xmlns", in: data) > Self.maximumNamespaces {
            throw Refused(message: "An XML body may declare at most \(Self.maximumNamespaces) namespaces.")
        }
        if Self.mostAttributes(in: data) > Self.maximumAttributes {
            throw Refused(message: "An XML element has more than \(Self.maximumAttributes) attributes.")
        }
        // Inside a wrapper element, so that content after the root (a second root, text) is seen: the parser
        // stops quietly after the first root otherwise.
        var text = String(decoding: data, as: UTF8.self)
        if text.hasPrefix("\u{FEFF}") { text.removeFirst() }
        let trimmed = text.drop { $0.isWhitespace }
        var rest = Substring(trimmed)
        if rest.hasPrefix("<?xml"), let end = rest.range(of: "?>") { rest = rest[end.upperBound...] }
        let parser = XMLParser(data: Data(("<\(Self.wrapper)>" + rest + "</\(Self.wrapper)>").utf8))
        parser.shouldResolveExternalEntities = false
        parser.shouldProcessNamespaces = false
        let builder = Builder()
        parser.delegate = builder
        let parsed = parser.parse()
        if let refusal = builder.refusal { throw refusal }
        guard parsed, let wrapper = builder.root, wrapper.name == Self.wrapper, case .object(let content) = wrapper.value, content.count == 1,
            let (name, value) = content.first, !name.hasPrefix("@"), name != "#text", !(value.arrayValue.map { $0.count > 1 } ?? false)
        else { throw Refused(message: "The body is not well-formed XML with one root element.") }
        return [name: value]
    }

    /// How often `text` occurs in `data` (an upper bound of the namespace declarations, text included).
    static func occurrences(of text: String, in data: Data) -> Int {
        let needle = Data(text.utf8)
        var count = 0
        var start = data.startIndex
        while let found = data.range(of: needle, in: start..<data.endIndex) {
            count += 1
            start = found.upperBound
        }
        return count
    }

    /// The most `=` signs outside quotes within one tag (`<` to `>`, comments, CDATA sections and
    /// processing instructions skipped): an upper bound of any element's attribute count, in one pass
    /// over the bytes before the parser sees them.
    static func mostAttributes(in data: Data) -> Int {
        var most = 0
        var count = 0
        var inTag = false
        var quote: UInt8?
        var index = data.startIndex
        func skip(past terminator: String) {
            let found = data.range(of: Data(terminator.utf8), in: index..<data.endIndex)
            index = found?.upperBound ?? data.endIndex
        }
        while index < data.endIndex {
            let byte = data[index]
            if inTag {
                if let open = quote {
                    if byte == open { quote = nil }
                } else if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "'") {
                    quote = byte
                } else if byte == UInt8(ascii: "=") {
                    count += 1
                    most = max(most, count)
                } else if byte == UInt8(ascii: ">") {
                    inTag = false
                }
                index += 1
            } else if byte == UInt8(ascii: "<") {
                let rest = data[index...]
                if rest.starts(with: Data("<!--".utf8)) {
                    skip(past: "-->")
                } else if rest.starts(with: Data("<![CDATA[".utf8)) {
                    skip(past: "]]>")
                } else if rest.starts(with: Data("<?".utf8)) {
                    skip(past: "?>")
                } else {
                    inTag = true
                    count = 0
                    index += 1
                }
            } else {
                index += 1
            }
        }
        return most
    }

    /// An element being read. Children are collected by name as they come (appending in place), and
    /// the object is built once at the end: linear in the number of children.
    final class Element {
        let name: String
        let attributes: [String: JSONValue]
        var children: [String: [JSONValue]] = [:]
        var order: [String] = []
        var text = ""

        init(name: String, attributes: [String: String]) {
            self.name = name
            self.attributes = Dictionary(uniqueKeysWithValues: attributes.map { ("@" + $0.key, JSONValue.string($0.value)) })
        }

        func add(_ name: String, _ value: JSONValue) {
            if self.children[name] == nil { self.order.append(name) }
            self.children[name, default: []].append(value)
        }

        var value: JSONValue {
            let text = self.text.trimmingCharacters(in: .whitespacesAndNewlines)
            if self.attributes.isEmpty && self.children.isEmpty { return .string(text) }
            var object = self.attributes
            for name in self.order {
                guard let values = self.children[name] else { continue }
                object[name] = values.count == 1 ? values[0] : .array(values)
            }
            if !text.isEmpty { object["#text"] = .string(text) }
            return .object(object)
        }
    }

    final class Builder: NSObject, XMLParserDelegate {
        var stack: [Element] = []
        var root: (name: String, value: JSONValue)?
        var refusal: Refused?
        var elements = 0

        func refuse(_ parser: XMLParser, _ message: String) {
            if self.refusal == nil { self.refusal = Refused(message: message) }
            parser.abortParsing()
        }

        func parser(
            _ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName qName: String?,
            attributes attributeDict: [String: String] = [:]
        ) {
            self.elements += 1
            guard self.stack.count <= XMLBody.maximumDepth else {
                return self.refuse(parser, "XML nested more than \(XMLBody.maximumDepth) levels deep is refused.")
            }
            guard self.elements <= XMLBody.maximumElements else {
                return self.refuse(parser, "XML with more than \(XMLBody.maximumElements) elements is refused.")
            }
            self.stack.append(Element(name: elementName, attributes: attributeDict))
        }

        // Belt and braces behind the byte scan: any declaration the parser still meets ends the parse.
        func parser(_ parser: XMLParser, foundInternalEntityDeclarationWithName name: String, value: String?) {
            self.refuse(parser, "XML with a document type declaration is refused.")
        }

        func parser(_ parser: XMLParser, foundExternalEntityDeclarationWithName name: String, publicID: String?, systemID: String?) {
            self.refuse(parser, "XML with a document type declaration is refused.")
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) {
            self.stack.last?.text += string
        }

        func parser(_ parser: XMLParser, foundCDATA CDATABlock: Data) {
            self.stack.last?.text += String(decoding: CDATABlock, as: UTF8.self)
        }

        func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName qName: String?) {
            guard let element = self.stack.popLast() else { return }
            if let parent = self.stack.last {
                parent.add(element.name, element.value)
            } else if self.root == nil {
                self.root = (element.name, element.value)
            } else {
                self.refuse(parser, "The body is not well-formed XML.")
            }
        }
    }
}
