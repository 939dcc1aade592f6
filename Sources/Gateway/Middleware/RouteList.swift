import GatewayKit
import Hummingbird
import PortcullisCore
import Synchronization

/// The router's route list, taken once when the gateway is built, for the 405 answer.
///
/// Kept as a snapshot rather than read from the router per request: Hummingbird's `Router.routes` walks
/// the route trie on every call and the router is not `Sendable`, while this middleware must be added
/// before the routes it wraps exist.
final class RouteList: Sendable {
    private let storage = Mutex<[Route]>([])

    func set(_ routes: [Route]) {
        self.storage.withLock { $0 = routes }
    }

    /// The methods registered for the template the router would pick for `path`, sorted; empty when the
    /// router has none. HEAD is included wherever GET is, because the router answers HEAD for every GET
    /// route.
    ///
    /// Like the router's trie, the walk takes a literal segment over a parameter at each step and never
    /// goes back: `/users/me` is answered by the methods of `/users/me`, not of `/users/{id}` too, and
    /// `/flows/multiple` (a literal that only leads to `/flows/multiple/start`) has no methods at all,
    /// although `/flows/{id}` would fit it.
    func allowedMethods(for path: String) -> [String] {
        let segments = path.split(separator: "/")
        var candidates = self.storage.withLock { $0 }.map { (route: $0, parts: $0.template.split(separator: "/")) }
        for (index, segment) in segments.enumerated() {
            candidates = candidates.filter { $0.parts.count > index }
            let literal = candidates.filter { $0.parts[index] == segment }
            candidates = literal.isEmpty ? candidates.filter { Self.isParameter($0.parts[index]) } : literal
        }
        var methods = Set(candidates.filter { $0.parts.count == segments.count }.map(\.route.method.rawValue))
        if methods.contains("GET") {
            methods.insert("HEAD")
        }
        return methods.sorted()
    }

    static func isParameter(_ segment: Substring) -> Bool {
        segment.hasPrefix("{") && segment.hasSuffix("}")
    }
}
