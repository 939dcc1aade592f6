import Foundation
import PortcullisCore

/// What a webhook call turns into: the message of API.md §4 for the flow's first node.
///
/// `data` is the parsed body (JSON, `text/plain` as a string, urlencoded fields, XML as JSON) or, for a
/// GET, the query; a body of another type travels as a base64 attachment. Credentials never travel:
/// `Authorization`, `Cookie` and the flow's HMAC header are left out of `headers`.
struct WebhookRequest: Sendable {
    let method: String
    let path: String
    let query: String?
    let headers: [(name: String, value: String)]
    let contentType: String?
    let body: Data
    let pathSuffix: String?

    struct Refused: Error, Sendable {
        let message: String
    }

    /// `application/json` and `+json`, `text/plain`, urlencoded, `application/xml`, `text/xml` and `+xml`.
    enum Kind: Equatable {
        case json, text, form, xml, other(String)

        init(_ contentType: String) {
            let media = contentType.split(separator: ";", maxSplits: 1).first?.trimmingCharacters(in: .whitespaces).lowercased() ?? ""
            switch media {
            case "application/json",
                _ where media.hasPrefix("application/") && media.hasSuffix("+json"):
                self = .json
            case "text/plain": self = .text
            case "application/x-www-form-urlencoded": self = .form
            case "application/xml", "text/xml",
                _ where media.hasSuffix("+xml"):
                self = .xml
            default: self = .other(media)
            }
        }
    }

    /// The message for the queue; `hidden` are the header names left out (lower case).
    func message(id: String, requestID: String, hidden: Set<String>) throws(Refused) -> JSONValue {
        var data: JSONValue = [:]
        var attachments: [String: JSONValue] = [:]
        let query = Self.fields(self.query ?? "")
        if self.method == "GET" || self.method == "HEAD" {
            data = .object(query)
        } else if !self.body.isEmpty, let contentType = self.contentType {
            switch Kind(contentType) {
            case .json:
                guard let value = try? JSONDecoder().decode(JSONValue.self, from: self.body) else {
                    throw Refused(message: "The body is not valid JSON.")
                }
                data = value
            case .text:
                guard let text = String(data: self.body, encoding: .utf8) else { throw Refused(message: "The body is not UTF-8 text.") }
                data = .string(text)
            case .form:
                guard let text = String(data: self.body, encoding: .utf8) else { throw Refused(message: "The body is not UTF-8 text.") }
                data = .object(Self.fields(text))
            case .xml:
                do {
                    data = try XMLBody.json(from: self.body)
                } catch {
                    throw Refused(message: error.message)
                }
            case .other(let media):
                attachments["body"] = [
                    "contentType": .string(media), "size": .int(Int64(self.body.count)), "content": .string(self.body.base64EncodedString()),
                ]
            }
        }
        var headers: [String: JSONValue] = [:]
        for (name, value) in self.headers where !hidden.contains(name.lowercased()) {
            let key = name.lowercased()
            if case .string(let earlier)? = headers[key] { headers[key] = .string(earlier + ", " + value) } else { headers[key] = .string(value) }
        }
        let url = self.query.map { "\(self.path)?\($0)" } ?? self.path
        return [
            "id": .string(id), "attachments": .object(attachments), "data": data, "headers": .object(headers),
            "metadata": ["source": ["name": "webhooks", "type": "webhook", "externalExecId": .string(requestID)]],
            "method": .string(self.method), "url": .string(url), "originalUrl": .string(url), "query": .object(query), "params": [:],
            "pathSuffix": self.pathSuffix.map(JSONValue.string) ?? .null,
        ]
    }

    /// `a=1&b=x%20y` as fields; a name given twice keeps its last value, `+` is a space (form encoding).
    static func fields(_ text: String) -> [String: JSONValue] {
        var fields: [String: JSONValue] = [:]
        for part in text.split(separator: "&", omittingEmptySubsequences: true) {
            let pair = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let decode: (Substring) -> String? = { $0.replacingOccurrences(of: "+", with: " ").removingPercentEncoding }
            guard let name = decode(pair[0]), !name.isEmpty, let value = pair.count > 1 ? decode(pair[1]) : "" else { continue }
            fields[name] = .string(value)
        }
        return fields
    }
}
