import PortcullisCore
import Testing

@Suite("DATABASE_URL parsing")
struct PostgresEndpointTests {
    @Test("a TCP URL gives host, port, credentials and database")
    func tcp() throws {
        let endpoint = try PostgresEndpoint.parse("postgres://app:s3cr%40t@db.internal:6543/portcullis")
        #expect(endpoint.address == .tcp(host: "db.internal", port: 6543))
        #expect(endpoint.username == "app")
        #expect(endpoint.password == "s3cr@t")
        #expect(endpoint.database == "portcullis")
        #expect(endpoint.tls == .prefer)
    }

    @Test("postgresql:// is accepted and the port defaults to 5432")
    func defaultPort() throws {
        let endpoint = try PostgresEndpoint.parse("postgresql://app@db/portcullis")
        #expect(endpoint.address == .tcp(host: "db", port: 5432))
        #expect(endpoint.password == nil)
    }

    @Test("?host=/dir selects the Unix socket <dir>/.s.PGSQL.<port>")
    func unixSocket() throws {
        let endpoint = try PostgresEndpoint.parse("postgres://app@localhost:5433/portcullis?host=/run/postgresql")
        #expect(endpoint.address == .unixSocket(path: "/run/postgresql/.s.PGSQL.5433"))
        #expect(endpoint.tls == .disable)
    }

    @Test("without a database name the user name is used, as libpq does")
    func defaultDatabase() throws {
        #expect(try PostgresEndpoint.parse("postgres://app@db").database == "app")
    }

    @Test("sslmode is honoured")
    func sslmode() throws {
        #expect(try PostgresEndpoint.parse("postgres://app@db/x?sslmode=require").tls == .require)
        #expect(try PostgresEndpoint.parse("postgres://app@db/x?sslmode=disable").tls == .disable)
    }

    @Test("connect_timeout sets how long opening a connection may take; 5 s when absent")
    func connectTimeout() throws {
        #expect(try PostgresEndpoint.parse("postgres://app@db/x").connectTimeout == .seconds(5))
        #expect(try PostgresEndpoint.parse("postgres://app@db/x?connect_timeout=30").connectTimeout == .seconds(30))
        #expect(try PostgresEndpoint.parse("postgres://app@/x?host=/run/pg&connect_timeout=1").connectTimeout == .seconds(1))
    }

    @Test(
        "malformed URLs are refused",
        arguments: [
            "not a url at all",
            "http://app@db/x",
            "postgres://db/x",
            "postgres://app@/x",
            "postgres://app@db/x?host=relative/dir",
            "postgres://app@db/x?sslmode=verify-full",
            "postgres://app@db/x?application_name=y",
            "postgres://app@db/a/b",
            "postgres://app@db/x?connect_timeout=0",
            "postgres://app@db/x?connect_timeout=601",
            "postgres://app@db/x?connect_timeout=2.5",
            "postgres://app@db/x?connect_timeout=",
        ]
    )
    func malformed(url: String) {
        #expect(throws: PostgresURLError.self) { try PostgresEndpoint.parse(url) }
    }

    @Test("the redacted description hides the password")
    func redacted() throws {
        let endpoint = try PostgresEndpoint.parse("postgres://app:topsecret@db/x")
        #expect(endpoint.redactedDescription == "postgres://app:***@db:5432/x")
        #expect(DatabaseLocation.postgres(endpoint).redactedDescription.contains("topsecret") == false)
    }
}
