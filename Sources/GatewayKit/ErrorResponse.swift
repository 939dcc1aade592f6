import Foundation
import HTTPTypes
public import Hummingbird
public import Logging
import NIOCore
public import PortcullisCore

/// Turns any error into the contract's `{"errors":[...]}` response.
///
/// ``APIError`` is rendered as it is; an error that adopts ``APIErrorConvertible`` (every module's own,
/// storage's) answers for itself; errors from Hummingbird and JSON decoding are mapped to their nearest
/// contract error; anything else is a 500 whose details go to the log, never to the client.
public enum ErrorResponse {
    public static func make(for error: any Error, logger: Logger) -> Response {
        self.make(for: self.apiError(for: error, logger: logger))
    }

    public static func make(for error: APIError) -> Response {
        var headers: HTTPFields = [.contentType: "application/json; charset=utf-8"]
        for (name, value) in error.headers {
            if let field = HTTPField.Name(name) {
                headers[field] = value
            }
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding a struct of strings and ints cannot fail; fall back to an empty body rather than trap.
        let body = (try? encoder.encode(error.envelope)) ?? Data()
        return Response(
            status: HTTPResponse.Status(code: error.status),
            headers: headers,
            body: .init(byteBuffer: ByteBuffer(bytes: body))
        )
    }

    public static func apiError(for error: any Error, logger: Logger) -> APIError {
        switch error {
        case let error as APIError:
            return error
        case let error as HTTPError:
            return self.apiError(for: error)
        case let error as DecodingError:
            return JSONBody.apiError(for: error)
        case let error as any APIErrorConvertible:
            return error.apiError(logger: logger)
        default:
            logger.error("unhandled error", metadata: ["error": "\(String(reflecting: error))"])
            return .internalError
        }
    }

    /// Hummingbird's own errors: 404 from the router, 413 from body collection, 400 from its decoders.
    public static func apiError(for error: HTTPError) -> APIError {
        let code = Int(error.status.code)
        switch code {
        case 404: return .notFound("No route matches the request.", reason: "NO_ROUTE")
        case 413: return APIError(status: 413, reason: "BODY_TOO_LARGE", message: "Request body is too large.")
        case 415: return .unsupportedMediaType(error.body ?? "Unsupported content type.")
        case 400: return .badRequest("BAD_REQUEST", error.body ?? "Bad request.")
        default:
            let reason = error.status.reasonPhrase.uppercased().map { $0.isLetter || $0.isNumber ? $0 : "_" }
            return APIError(status: code, reason: String(reason), message: error.body ?? error.status.reasonPhrase)
        }
    }
}
