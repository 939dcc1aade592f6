public import Logging

/// An error a module raises that has a contract answer of its own. The gateway renders any error that
/// adopts it through ``apiError(logger:)``, so a new module brings its error mapping with it instead of
/// extending a switch in the gateway.
///
/// ```swift
/// extension FlowError: APIErrorConvertible {
///     public func apiError(logger: Logger) -> APIError { .notFound("No such flow.") }
/// }
/// ```
public protocol APIErrorConvertible: Error {
    /// The answer for this error. `logger` is the request's, for errors that are an operator's business
    /// (an outage) and must not reach the client in detail.
    func apiError(logger: Logger) -> APIError
}
