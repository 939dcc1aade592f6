import Foundation
import PortcullisCore
public import Storage

/// SQL for flows and their owners, and the ``FlowCache`` in front of reading one flow.
///
/// Every change of a stored flow goes through ``update(_:on:)``, ``delete(id:on:)`` or
/// ``removeOwner(_:type:on:)``, which drop it from the cache and announce it on ``FlowChanges/channel``
/// inside the changing transaction.
public struct FlowStore: Sendable {
    let database: any Database
    let cache: FlowCache

    public init(database: any Database) {
        self.database = database
        self.cache = FlowCache()
    }

    static let columns: SQLQuery = """
        id, name, description, type, tenant, status, status_reason, started_by, cron, cron_timezone, graph, webhooks, hmac_secret,
        token_client_id, lifecycle_version, created_at, updated_at
        """

    /// The webhook settings stored in clear: everything but the secret.
    struct StoredWebhooks: Codable {
        var requireWebhookAuth: Bool?
        var hmacHeader: String?
        var hmacAlgorithm: String?
    }

    /// The stored forms of the webhook settings (JSON, without the secret) and of the sealed secret.
    static func webhookColumns(_ flow: Flow) throws -> (settings: String?, secret: SQLValue) {
        let settings = try flow.draft.webhooks.map {
            try JSONCoding.string(
                StoredWebhooks(requireWebhookAuth: $0.requireWebhookAuth, hmacHeader: $0.hmacHeader, hmacAlgorithm: $0.hmacAlgorithm))
        }
        return (settings, flow.sealedHMACSecret.map { .blob($0) } ?? .null)
    }

    public func insert(_ flow: Flow, on connection: any DatabaseConnection) async throws {
        let (webhooks, secret) = try Self.webhookColumns(flow)
        try await connection.execute(
            """
            INSERT INTO flows (\(Self.columns), search_text)
            VALUES (\(flow.id), \(flow.draft.name), \(flow.draft.description), \(flow.draft.type), \(flow.draft.tenant), \(flow.status.rawValue),
                \(flow.statusReason), \(flow.startedBy), \(flow.draft.cron), \(flow.draft.cronTimezone), \(try JSONCoding.string(flow.draft.graph)),
                \(webhooks), \(secret), \(flow.tokenClientID), \(flow.lifecycleVersion), \(Timestamp.milliseconds(flow.createdAt)),
                \(Timestamp.milliseconds(flow.updatedAt)), \(Self.searchText(flow)))
            """
        )
        // Nothing to drop: no read of an id that did not exist is cached.
        try await self.insertOwners(flow, on: connection)
    }

    /// Writes every field of `flow` over the stored one, owners included.
    public func update(_ flow: Flow, on connection: any DatabaseConnection) async throws {
        let (webhooks, secret) = try Self.webhookColumns(flow)
        try await connection.execute(
            """
            UPDATE flows SET name = \(flow.draft.name), description = \(flow.draft.description), type = \(flow.draft.type),
                tenant = \(flow.draft.tenant), status = \(flow.status.rawValue), status_reason = \(flow.statusReason), started_by = \(flow.startedBy),
                cron = \(flow.draft.cron), cron_timezone = \(flow.draft.cronTimezone), graph = \(try JSONCoding.string(flow.draft.graph)),
                webhooks = \(webhooks), hmac_secret = \(secret), token_client_id = \(flow.tokenClientID),
                lifecycle_version = \(flow.lifecycleVersion), search_text = \(Self.searchText(flow)),
                updated_at = \(Timestamp.milliseconds(flow.updatedAt))
            WHERE id = \(flow.id)
            """
        )
        try await connection.execute("DELETE FROM flow_owners WHERE flow_id = \(flow.id)")
        try await self.insertOwners(flow, on: connection)
        try await self.changed(flow.id, on: connection)
    }

    /// Drops the flow from this process's cache, and announces the change to every replica's when the
    /// transaction commits (on SQLite at once, to this process: the only one that caches the file's flows).
    private func changed(_ id: String, on connection: any DatabaseConnection) async throws {
        self.cache.invalidate(id)
        try await self.database.notify(channel: FlowChanges.channel, payload: id, on: connection)
    }

    /// Runs a transaction that changes the flow `id`, and drops the flow from the cache again once it has
    /// ended: on PostgreSQL a read running beside the transaction may have cached the version before the
    /// change, and this process's own notice arrives a moment after the commit, when the caller may
    /// already be reading its change back.
    func transaction<Result: Sendable>(
        changing id: String, _ body: (any DatabaseConnection) async throws -> Result
    ) async throws -> Result {
        defer { self.cache.invalidate(id) }
        return try await self.database.transaction(body)
    }

    /// The flow `id` for reading: from the cache, or read (one statement, ``findQuery(id:)``) and cached.
    /// Not for changing it: a change reads the flow again with `find(id:on:locking:)` in its transaction.
    func read(id: String) async throws -> CachedFlow? {
        if let cached = self.cache.get(id) { return cached }
        let generation = self.cache.generation
        guard let (flow, size) = try await self.fetch(id: id, on: nil) else { return nil }
        return self.cache.put(flow, size: size, readSince: generation)
    }

    private func insertOwners(_ flow: Flow, on connection: any DatabaseConnection) async throws {
        for owner in Set(flow.owners) {
            try await connection.execute("INSERT INTO flow_owners (flow_id, owner_id, owner_type) VALUES (\(flow.id), \(owner.id), \(owner.type))")
        }
    }

    /// The flow, or nil; `locking` holds its row (PostgreSQL) until the transaction ends.
    ///
    /// Unlocked, one statement (``findQuery(id:)``): the read of every request about one flow. Locked, two:
    /// the row first, then the owners. A locking statement that waited for another transaction re-reads
    /// only the locked row when that one commits, not the joined owners, which would then be the ones
    /// from before (a removed owner written back by whoever held the lock next).
    public func find(id: String, on connection: (any DatabaseConnection)? = nil, locking: Bool = false) async throws -> Flow? {
        if locking {
            let lock: SQLQuery = connection?.dialect == .postgres ? " FOR UPDATE" : ""
            let query: SQLQuery = "SELECT \(Self.columns) FROM flows WHERE id = \(id)\(lock)"
            guard let row = try await (connection != nil ? connection!.first(query) : self.database.first(query)) else { return nil }
            let owners = try await self.owners(of: [id], on: connection)
            return try Self.flow(row, owners: owners[id] ?? [])
        }
        return try await self.fetch(id: id, on: connection)?.flow
    }

    /// The flow from ``findQuery(id:)``, and roughly how many bytes its stored text takes.
    private func fetch(id: String, on connection: (any DatabaseConnection)?) async throws -> (flow: Flow, size: Int)? {
        let query = Self.findQuery(id: id)
        let rows = try await (connection != nil ? connection!.query(query) : self.database.query(query))
        guard let first = rows.first else { return nil }
        let owners = try rows.compactMap { row -> FlowOwner? in
            guard let ownerID = try row.optionalString("owner_id") else { return nil }
            return FlowOwner(id: ownerID, type: try row.string("owner_type"))
        }
        let flow = try Self.flow(first, owners: Self.ordered(owners))
        return (flow, try Self.approximateSize(first, owners: owners.count))
    }

    /// Roughly what a flow row takes in memory once decoded: its text columns, 48 bytes for every value
    /// of its graph's JSON (each `[`, `{`, `,` and `:` starts or separates one; a graph of many tiny values
    /// takes far more decoded than written), and a fixed allowance per owner.
    static func approximateSize(_ row: SQLRow, owners: Int) throws -> Int {
        var size = 512 + 128 * owners
        for column in ["graph", "name", "description", "webhooks", "status_reason", "cron"] {
            guard let text = try row.optionalString(column) else { continue }
            size += text.utf8.count
            if column == "graph" {
                for byte in text.utf8
                where byte == UInt8(ascii: "[") || byte == UInt8(ascii: "{") || byte == UInt8(ascii: ",") || byte == UInt8(ascii: ":") {
                    size += 48
                }
            }
        }
        return size
    }

    /// The flow's row joined with its owners: one row per owner, or one with NULL owner columns when it has none.
    public static func findQuery(id: String) -> SQLQuery {
        """
        SELECT \(Self.columns), owner_id, owner_type FROM flows LEFT JOIN flow_owners ON flow_owners.flow_id = flows.id
        WHERE flows.id = \(id)
        """
    }

    /// Owners in the order listings give them (``owners(of:on:)``): by type descending, then by id.
    static func ordered(_ owners: [FlowOwner]) -> [FlowOwner] {
        owners.sorted { $0.type != $1.type ? $0.type > $1.type : $0.id < $1.id }
    }

    public func delete(id: String, on connection: any DatabaseConnection) async throws {
        try await connection.execute("DELETE FROM flow_owners WHERE flow_id = \(id)")
        try await connection.execute("DELETE FROM flows WHERE id = \(id)")
        try await self.changed(id, on: connection)
    }

    /// One page of the flows `query` selects, and how many it selects in all.
    public func list(_ query: FlowQuery, offset: Int, limit: Int) async throws -> (items: [Flow], total: Int) {
        var conditions: [SQLQuery] = []
        if let visible = query.visibleTo {
            guard !visible.isEmpty else { return ([], 0) }
            conditions.append("EXISTS (SELECT 1 FROM flow_owners o WHERE o.flow_id = flows.id AND o.owner_id IN (\(list: visible)))")
        }
        switch query.tenantScope {
        case .some(.some(let tenant)): conditions.append("(tenant IS NULL OR tenant = \(tenant))")
        case .some(.none): conditions.append("tenant IS NULL")
        case .none: break
        }
        if let owner = query.owner {
            conditions.append("EXISTS (SELECT 1 FROM flow_owners u WHERE u.flow_id = flows.id AND u.owner_id = \(owner))")
        }
        if let status = query.status { conditions.append("status = \(status.rawValue)") }
        if let type = query.type { conditions.append("type = \(type)") }
        if let search = query.search, !search.isEmpty {
            let pattern = "%" + Self.escapeLike(search.lowercased()) + "%"
            conditions.append(
                "search_text LIKE \(pattern) ESCAPE '\\'")
        }
        var filter: SQLQuery = ""
        for (index, condition) in conditions.enumerated() {
            filter = index == 0 ? " WHERE \(condition)" : "\(filter) AND \(condition)"
        }
        let column: SQLQuery =
            switch query.sort {
            case .createdAt: "created_at"
            case .updatedAt: "updated_at"
            case .name: "LOWER(COALESCE(name, ''))"
            }
        let direction: SQLQuery = query.descending ? " DESC" : ""
        let total = try await self.database.first("SELECT COUNT(*) AS n FROM flows\(filter)")?.int("n") ?? 0
        let rows = try await self.database.query(
            "SELECT \(Self.columns) FROM flows\(filter) ORDER BY \(column)\(direction), id\(direction) LIMIT \(limit) OFFSET \(offset)")
        let ids = try rows.map { try $0.string("id") }
        let owners = try await self.owners(of: ids, on: nil)
        return (try rows.map { try Self.flow($0, owners: owners[try $0.string("id")] ?? []) }, Int(total))
    }

    /// The ids of the flows of `tenant`: its `tenant` field, or owned by the tenant.
    public func flowIDs(ofTenant tenant: String, on connection: any DatabaseConnection) async throws -> [String] {
        try await connection.query(
            """
            SELECT id FROM flows WHERE tenant = \(tenant)
            UNION SELECT flow_id AS id FROM flow_owners WHERE owner_id = \(tenant) AND owner_type = 'tenant'
            ORDER BY id
            """
        ).map { try $0.string("id") }
    }

    /// Removes `ownerID` from the owners of every flow; returns the ids of the flows it owned.
    ///
    /// On PostgreSQL the flows' rows are held first, in id order, and the account is removed only from the
    /// flows held: a command holding one of them, which read its owners before this removal and writes them
    /// back (every change does), would otherwise put the removed owner back once this transaction has
    /// committed, and a row removed from a flow not held could deadlock with that command. Ownerships another
    /// transaction committed meanwhile (a command that made the account an owner of one more flow) are found
    /// by the next round, up to ``removalRounds``. On SQLite the transaction holds the file: one round.
    public func removeOwner(_ ownerID: String, type: String, on connection: any DatabaseConnection) async throws -> [String] {
        var removed: Set<String> = []
        for _ in 0..<Self.removalRounds {
            var held: [String]?
            if connection.dialect == .postgres {
                held = try await connection.query(
                    """
                    SELECT id FROM flows WHERE id IN (SELECT flow_id FROM flow_owners WHERE owner_id = \(ownerID) AND owner_type = \(type))
                    ORDER BY id FOR UPDATE
                    """
                ).map { try $0.string("id") }
                if held?.isEmpty == true { break }
            }
            let onlyHeld: SQLQuery = held.map { " AND flow_id IN (\(list: $0))" } ?? ""
            let deleted = try await connection.query(
                "DELETE FROM flow_owners WHERE owner_id = \(ownerID) AND owner_type = \(type)\(onlyHeld) RETURNING flow_id"
            ).map { try $0.string("flow_id") }
            removed.formUnion(deleted)
            if held == nil || deleted.isEmpty { break }
        }
        let flowIDs = removed.sorted()
        for flowID in flowIDs {
            try await self.changed(flowID, on: connection)
        }
        return flowIDs
    }

    /// Rounds of ``removeOwner(_:type:on:)`` on PostgreSQL: each one finds what was committed since the last.
    static let removalRounds = 8

    /// How many users and tenants own the flow (its running token's account does not count).
    public func ownerCount(of flowID: String, on connection: any DatabaseConnection) async throws -> Int {
        Int(
            try await connection.first(
                "SELECT COUNT(*) AS n FROM flow_owners WHERE flow_id = \(flowID) AND owner_type IN ('user', 'tenant')"
            )?.int("n") ?? 0)
    }

    private func owners(of ids: [String], on connection: (any DatabaseConnection)?) async throws -> [String: [FlowOwner]] {
        guard !ids.isEmpty else { return [:] }
        let query: SQLQuery =
            "SELECT flow_id, owner_id, owner_type FROM flow_owners WHERE flow_id IN (\(list: ids)) ORDER BY owner_type DESC, owner_id"
        let rows = try await (connection != nil ? connection!.query(query) : self.database.query(query))
        var owners: [String: [FlowOwner]] = [:]
        for row in rows {
            owners[try row.string("flow_id"), default: []].append(FlowOwner(id: try row.string("owner_id"), type: try row.string("owner_type")))
        }
        return owners
    }

    /// `%`, `_` and `\` of a search term match themselves.
    static func escapeLike(_ text: String) -> String {
        var escaped = ""
        for character in text {
            if character == "%" || character == "_" || character == "\\" { escaped.append("\\") }
            escaped.append(character)
        }
        return escaped
    }

    static func flow(_ row: SQLRow, owners: [FlowOwner]) throws -> Flow {
        let webhooks = try row.optionalString("webhooks").map { try JSONCoding.decode(StoredWebhooks.self, from: $0) }
        let draft = FlowDraft(
            name: try row.optionalString("name"), description: try row.optionalString("description"), type: try row.optionalString("type"),
            tenant: try row.optionalString("tenant"), owners: owners, cron: try row.optionalString("cron"),
            cronTimezone: try row.optionalString("cron_timezone"), graph: try JSONCoding.decode(FlowGraph.self, from: try row.string("graph")),
            webhooks: webhooks.map {
                WebhookSettings(requireWebhookAuth: $0.requireWebhookAuth, hmacHeader: $0.hmacHeader, hmacAlgorithm: $0.hmacAlgorithm)
            }
        )
        return Flow(
            id: try row.string("id"), draft: draft, owners: owners, status: FlowStatus(rawValue: try row.string("status")) ?? .inactive,
            statusReason: try row.optionalString("status_reason"), startedBy: try row.optionalString("started_by"),
            sealedHMACSecret: try row.optionalBytes("hmac_secret"), tokenClientID: try row.optionalString("token_client_id"),
            lifecycleVersion: try row.int("lifecycle_version"), createdAt: Timestamp.date(milliseconds: try row.int("created_at")),
            updatedAt: Timestamp.date(milliseconds: try row.int("updated_at")))
    }

    /// Name and description folded to lower case by Swift (full Unicode, unlike SQLite's ASCII-only
    /// `LOWER`), so that search is case-insensitive the same way on both backends.
    static func searchText(_ flow: Flow) -> String {
        ((flow.draft.name ?? "") + "\n" + (flow.draft.description ?? "")).lowercased()
    }
}
