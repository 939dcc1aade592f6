import Foundation
public import GatewayKit
import Hummingbird
import Policy
public import PortcullisCore
public import Storage

/// `GET /api/v1/policy/diff` (platform admins): the report of `portcullis policy diff`, for candidate
/// policy files sent in the body: `{"files":{"permissions.yaml":"...","roles.yaml":"...","routes.yaml":"..."},"since":"24h"}`.
public struct PolicyDiffRoutes: Sendable {
    let database: any Database
    let clock: WallClock

    public init(database: any Database, clock: WallClock) {
        self.database = database
        self.clock = clock
    }

    struct Body: Decodable {
        let files: [String: String]
        let since: String?
    }

    static let fileNames: Set<String> = ["permissions.yaml", "roles.yaml", "routes.yaml"]
    static let maximumFileBytes = 1 << 20
    /// The longest period replayed through HTTP: each request reads that much of the audit log.
    static let maximumPeriod = Duration.seconds(31 * 86400)

    public func register(on routes: RouteRegistry) {
        routes.read("/api/v1/policy/diff") { request, context in
            let body = try await JSONBody.decode(Body.self, from: request, context: context)
            let since = body.since ?? "24h"
            guard let period = DurationText.parse(since), period <= Self.maximumPeriod else {
                throw APIError.badRequest("INVALID_PERIOD", "since must be a duration of at most 31d, such as 30m, 24h or 7d.")
            }
            let candidate = try Self.candidate(body.files)
            let report = try await PolicyDiffRun.run(database: self.database, candidate: candidate, period: period, now: self.clock.now)
            return try JSONValue(encoding: ["data": report])
        }
    }

    /// The candidate policy set of `files`, read through a private temporary directory (the loader reads
    /// files); the three files are required, nothing else is accepted.
    static func candidate(_ files: [String: String]) throws -> PolicySet {
        guard Set(files.keys) == Self.fileNames else {
            throw APIError.badRequest("INVALID_FILES", "files must hold exactly permissions.yaml, roles.yaml and routes.yaml.")
        }
        guard files.values.allSatisfy({ $0.utf8.count <= Self.maximumFileBytes }) else {
            throw APIError.badRequest("INVALID_FILES", "each policy file must be at most 1 MiB.")
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("portcullis-diff-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
            for (name, text) in files {
                try Data(text.utf8).write(to: directory.appendingPathComponent(name))
            }
        } catch {
            throw APIError(status: 500, reason: "INTERNAL_ERROR", message: "The candidate files could not be read.")
        }
        do {
            return try PolicySet.load(directory: directory.path)
        } catch {
            // The loader names the file and entry; the temporary path is left out.
            let problem = "\(error)".replacingOccurrences(of: directory.path + "/", with: "")
            throw APIError.badRequest("INVALID_POLICY", "The candidate policy files are invalid: \(problem.utf8Prefix(500))")
        }
    }
}
