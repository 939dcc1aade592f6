import Foundation
import HTTPTypes
public import Hummingbird
import IAM
public import Logging
import NIOCore
public import PortcullisCore
import Storage

/// Turns any error into the contract's `{"errors":[...]}` response.
///
/// ``APIError`` is rendered as it is; errors from Hummingbird, JSON decoding and storage are mapped to
/// their nearest contract error; anything else is a 500 whose details go to the log, never to the client.
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
        case let error as IAMError:
            return self.apiError(for: error)
        case is PasswordHashingPool.Busy:
            // A login flood fills the hashing pool: anything else that sets a password waits its turn too.
            return APIError(
                status: 503, reason: "TOO_BUSY", message: "Too many password operations at once; try again shortly.", headers: ["Retry-After": "1"])
        case AuthenticationError.invalidToken, AuthenticationError.accountDisabled:
            return .unauthorized("INVALID_TOKEN", "The token is invalid, expired or revoked.")
        case AuthenticationError.unavailable(let reason):
            logger.error("authentication unavailable", metadata: ["error": "\(reason)"])
            return .serviceUnavailable("AUTHENTICATION_UNAVAILABLE", "Tokens cannot be checked right now; try again later.")
        case let error as KeyRingError:
            logger.error("key ring unavailable", metadata: ["error": "\(error)"])
            return .serviceUnavailable("KEY_RING_UNAVAILABLE", "Tokens cannot be issued right now; try again later.")
        case StorageError.unavailable(let reason):
            logger.error("database unavailable", metadata: ["error": "\(reason)"])
            return .serviceUnavailable("DATABASE_UNAVAILABLE", "The database is unavailable; try again later.")
        default:
            logger.error("unhandled error", metadata: ["error": "\(String(reflecting: error))"])
            return .internalError
        }
    }

    static func apiError(for error: IAMError) -> APIError {
        switch error {
        case .invalid(let problems): .validation(problems.map { (reason: $0.0, message: $0.1) })
        case .forbidden(let message, let reason): .forbidden(reason, message)
        case .notFound(let message): .notFound(message)
        case .conflict(let reason, let message): .conflict(reason, message)
        case .sessionExpired: .unauthorized("SESSION_EXPIRED", "The session has reached its maximum length; log in again.")
        }
    }

    /// Hummingbird's own errors: 404 from the router, 413 from body collection, 400 from its decoders.
    static func apiError(for error: HTTPError) -> APIError {
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
