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
    func allowedMethods(for path: String) -> [String] {
        var methods = Set(self.storage.withLock { $0 }.filter { $0.matches(path: path) }.map(\.method.rawValue))
        if methods.contains("GET") {
            methods.insert("HEAD")
        }
        return methods.sorted()
    }
}
