import Foundation
public import Hummingbird
import NIOCore
import PortcullisCore

/// Reads a request body as JSON with the contract's errors: 415 for a non-JSON content type, 413 over
/// the body limit, 400 `MALFORMED_JSON`, `INVALID_TYPE` or `MISSING_FIELD` naming the field's path.
public enum JSONBody {
    public static func decode<Value: Decodable>(
        _ type: Value.Type,
        from request: Request,
        context: GatewayRequestContext
    ) async throws -> Value {
        guard let contentType = request.headers[.contentType], isJSON(contentType) else {
            throw APIError.unsupportedMediaType("Content-Type must be application/json.")
        }
        let limit = context.maxUploadSize
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: limit)
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw APIError.payloadTooLarge(limit: limit)
        } catch is NIOTooManyBytesError {
            // A body that arrives whole (not streamed) reports the limit in NIO's words.
            throw APIError.payloadTooLarge(limit: limit)
        }
        let data = Data(buffer.readableBytesView)
        do {
            return try JSONDecoder().decode(Value.self, from: data)
        } catch let error as DecodingError {
            throw apiError(for: error, body: data)
        }
    }

    /// Foundation's decoder reports a well-formed number that does not fit its field (1.5 or 10^30 for an
    /// `Int`) as "not valid JSON" without a path; a syntax check on this error path tells the two apart.
    static func apiError(for error: DecodingError, body: Data) -> APIError {
        if case .dataCorrupted(let context) = error, context.codingPath.isEmpty,
            (try? JSONSerialization.jsonObject(with: body, options: [.fragmentsAllowed])) != nil
        {
            return .badRequest("INVALID_TYPE", "A number in the request body does not fit its field (expected an integer in range).")
        }
        return apiError(for: error)
    }

    /// `application/json`, or any `+json` media type, parameters ignored.
    static func isJSON(_ contentType: String) -> Bool {
        let mediaType = contentType.split(separator: ";", maxSplits: 1).first?.trimmingCharacters(in: .whitespaces).lowercased() ?? ""
        return mediaType == "application/json" || (mediaType.hasPrefix("application/") && mediaType.hasSuffix("+json"))
    }

    static func apiError(for error: DecodingError) -> APIError {
        switch error {
        case .dataCorrupted(let context) where context.codingPath.isEmpty:
            return .badRequest("MALFORMED_JSON", "The request body is not valid JSON.")
        case .dataCorrupted(let context):
            return .badRequest("INVALID_VALUE", "Invalid value at '\(path(context.codingPath))'.")
        case .typeMismatch(let type, let context):
            let location = context.codingPath.isEmpty ? "the top level" : "'\(path(context.codingPath))'"
            return .badRequest("INVALID_TYPE", "Expected \(describe(type)) at \(location).")
        case .valueNotFound(let type, let context):
            return .badRequest("INVALID_TYPE", "Expected \(describe(type)) at '\(path(context.codingPath))', found null.")
        case .keyNotFound(let key, let context):
            return .badRequest("MISSING_FIELD", "Missing field '\(path(context.codingPath + [key]))'.")
        @unknown default:
            return .badRequest("MALFORMED_JSON", "The request body could not be read.")
        }
    }

    /// `graph.nodes[0].id` for a coding path.
    static func path(_ codingPath: [any CodingKey]) -> String {
        var result = ""
        for key in codingPath {
            if let index = key.intValue {
                result += "[\(index)]"
            } else {
                result += result.isEmpty ? key.stringValue : ".\(key.stringValue)"
            }
        }
        return result
    }

    static func describe(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Bool.Type: "a boolean"
        case is Int.Type, is Int64.Type, is Int32.Type: "an integer"
        case is Double.Type, is Float.Type: "a number"
        case is [Any].Type: "an array"
        default: "an object"
        }
    }
}
