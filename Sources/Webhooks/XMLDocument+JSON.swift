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

    static func json(from data: Data) throws(Refused) -> JSONValue {
        if let text = String(data: data.prefix(64 * 1024), encoding: .utf8), text.range(of: "<!DOCTYPE", options: .caseInsensitive) != nil {
            throw Refused(message: "XML with a document type declaration is refused.")
        }
        if data.range(of: Data("<!ENTITY".utf8)) != nil || data.range(of: Data("<!doctype".utf8)) != nil {
            throw Refused(message: "XML with a document type declaration is refused.")
        }
        let parser = XMLParser(data: data)
        parser.shouldResolveExternalEntities = false
        parser.shouldProcessNamespaces = false
        let builder = Builder()
        parser.delegate = builder
        let parsed = parser.parse()
        guard !builder.tooDeep else { throw Refused(message: "XML nested more than \(Self.maximumDepth) levels deep is refused.") }
        guard parsed, let root = builder.root else { throw Refused(message: "The body is not well-formed XML.") }
        return [root.name: root.value]
    }

    /// An element being read.
    final class Element {
        let name: String
        var attributes: [String: JSONValue]
        var children: [(String, JSONValue)] = []
        var text = ""

        init(name: String, attributes: [String: String]) {
            self.name = name
            self.attributes = Dictionary(uniqueKeysWithValues: attributes.map { ("@" + $0.key, JSONValue.string($0.value)) })
        }

        var value: JSONValue {
            let text = self.text.trimmingCharacters(in: .whitespacesAndNewlines)
            if self.attributes.isEmpty && self.children.isEmpty { return .string(text) }
            var object = self.attributes
            for (name, value) in self.children {
                switch object[name] {
                case nil: object[name] = value
                case .array(let items)?: object[name] = .array(items + [value])
                case let existing?: object[name] = [existing, value]
                }
            }
            if !text.isEmpty { object["#text"] = .string(text) }
            return .object(object)
        }
    }

    final class Builder: NSObject, XMLParserDelegate {
        var stack: [Element] = []
        var root: (name: String, value: JSONValue)?
        var tooDeep = false

        func parser(
            _ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName qName: String?,
            attributes attributeDict: [String: String] = [:]
        ) {
            guard self.stack.count < XMLBody.maximumDepth else {
                self.tooDeep = true
                parser.abortParsing()
                return
            }
            self.stack.append(Element(name: elementName, attributes: attributeDict))
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
                parent.children.append((element.name, element.value))
            } else {
                self.root = (element.name, element.value)
            }
        }
    }
}
