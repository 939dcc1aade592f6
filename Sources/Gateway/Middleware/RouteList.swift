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

    /// The methods registered for templates that fit `path`, sorted; empty when the path is unknown.
    /// HEAD is included wherever GET is, because the router answers HEAD for every GET route.
    /// Like the router, a literal segment wins over a parameter: `/users/me` is answered by the methods of
    /// `/users/me`, not by those of `/users/{id}` too.
    func allowedMethods(for path: String) -> [String] {
        let matching = self.storage.withLock { $0 }.filter { $0.matches(path: path) }
        let best = matching.map { Self.specificity($0.template) }.max { $0.lexicographicallyPrecedes($1) }
        var methods = Set(matching.filter { Self.specificity($0.template) == best }.map(\.method.rawValue))
        if methods.contains("GET") {
            methods.insert("HEAD")
        }
        return methods.sorted()
    }

    /// Per segment, 1 for a literal and 0 for a `{parameter}`: compared left to right, the router's preference.
    static func specificity(_ template: String) -> [Int] {
        template.split(separator: "/").map { $0.hasPrefix("{") && $0.hasSuffix("}") ? 0 : 1 }
    }
}
