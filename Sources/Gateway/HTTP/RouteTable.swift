public import HTTPTypes
import Policy
import Synchronization

/// Every route the gateway serves, as `(method, path template)`.
///
/// Filled while modules register their routes, read when a path matches no route (to tell 404 from 405)
/// and by tests that check every route is covered by a policy rule.
public final class RouteTable: Sendable {
    /// One registered route. Templates use `{name}` for a path parameter, e.g. `/flows/{id}/start`.
    public struct Route: Sendable, Hashable {
        public let method: HTTPRequest.Method
        public let template: String

        /// Whether `path` (already canonical) fits this template.
        public func matches(path: String) -> Bool {
            PathTemplate.matches(self.template, path: path)
        }
    }

    private let storage = Mutex<[Route]>([])

    public init() {}

    public func add(_ route: Route) {
        self.storage.withLock { $0.append(route) }
    }

    public var routes: [Route] {
        self.storage.withLock { $0 }
    }

    /// The methods registered for templates that fit `path`, sorted; empty when the path is unknown.
    /// HEAD is included wherever GET is, because the router answers HEAD for every GET route.
    public func allowedMethods(for path: String) -> [String] {
        var methods = Set(self.routes.filter { $0.matches(path: path) }.map(\.method.rawValue))
        if methods.contains("GET") {
            methods.insert("HEAD")
        }
        return methods.sorted()
    }
}
