import Foundation
import Logging
import PortcullisCore
import Testing

@Suite("Configuration from environment and flags")
struct ConfigurationLoaderTests {
    @Test("no settings give the documented defaults and the embedded SQLite file")
    func defaults() throws {
        let configuration = try ConfigurationLoader(environment: [:]).load()
        #expect(configuration.host == "127.0.0.1")
        #expect(configuration.port == 8080)
        #expect(configuration.dataDirectory == "./data")
        #expect(configuration.database == .sqlite(path: "./data/portcullis.sqlite"))
        #expect(configuration.policiesDirectory == "./policies")
        #expect(configuration.logLevel == .info)
        #expect(configuration.logFormat == .text)
        #expect(configuration.maxBodyBytes == 10 * 1024 * 1024)
    }

    @Test("every variable is read from the environment")
    func environment() throws {
        let configuration = try ConfigurationLoader(environment: [
            "PORTCULLIS_HOST": "0.0.0.0",
            "PORTCULLIS_PORT": "9090",
            "PORTCULLIS_DATA_DIR": "/var/lib/portcullis",
            "PORTCULLIS_POLICIES": "/etc/portcullis/policies",
            "PORTCULLIS_LOG_LEVEL": "DEBUG",
            "PORTCULLIS_LOG_FORMAT": "json",
            "PORTCULLIS_MAX_BODY_BYTES": "1024",
        ]).load()
        #expect(configuration.host == "0.0.0.0")
        #expect(configuration.port == 9090)
        #expect(configuration.database == .sqlite(path: "/var/lib/portcullis/portcullis.sqlite"))
        #expect(configuration.policiesDirectory == "/etc/portcullis/policies")
        #expect(configuration.logLevel == .debug)
        #expect(configuration.logFormat == .json)
        #expect(configuration.maxBodyBytes == 1024)
    }

    @Test("audit settings: keep forever and wait 5 s by default; both can be set")
    func audit() throws {
        let defaults = try ConfigurationLoader(environment: [:]).load()
        #expect(defaults.auditRetention == nil)
        #expect(defaults.auditWriteTimeout == .seconds(5))
        let set = try ConfigurationLoader(environment: ["PORTCULLIS_AUDIT_RETENTION": "90d", "PORTCULLIS_AUDIT_WRITE_TIMEOUT": "30s"]).load()
        #expect(set.auditRetention == .seconds(90 * 86400))
        #expect(set.auditWriteTimeout == .seconds(30))
    }

    @Test("the token cache lasts 30 s by default, 0s turns it off, and more than 5 minutes is refused")
    func tokenCache() throws {
        #expect(try ConfigurationLoader(environment: [:]).load().tokenCacheTTL == .seconds(30))
        #expect(try ConfigurationLoader(environment: ["PORTCULLIS_TOKEN_CACHE_TTL": "0s"]).load().tokenCacheTTL == .zero)
        #expect(try ConfigurationLoader(environment: ["PORTCULLIS_TOKEN_CACHE_TTL": "2m"]).load().tokenCacheTTL == .seconds(120))
        #expect(throws: ConfigurationError.self) { try ConfigurationLoader(environment: ["PORTCULLIS_TOKEN_CACHE_TTL": "6m"]).load() }
        #expect(throws: ConfigurationError.self) { try ConfigurationLoader(environment: ["PORTCULLIS_TOKEN_CACHE_TTL": "-1s"]).load() }
    }

    @Test("trusted proxies are none by default, a CIDR list when set, and a bad entry is named")
    func trustedProxies() throws {
        #expect(try ConfigurationLoader(environment: [:]).load().trustedProxies.isEmpty)
        let set = try ConfigurationLoader(environment: ["PORTCULLIS_TRUSTED_PROXIES": "10.0.0.0/8, 2001:db8::/32,127.0.0.1"]).load()
        #expect(set.trustedProxies.blocks.map(\.description) == ["10.0.0.0/8", "2001:db8::/32", "127.0.0.1/32"])
        #expect(set.trustedProxies.header == .xForwardedFor)
        #expect(try ConfigurationLoader(environment: ["PORTCULLIS_FORWARDED_HEADER": "Forwarded"]).load().trustedProxies.header == .forwarded)
        #expect(throws: ConfigurationError.self) { try ConfigurationLoader(environment: ["PORTCULLIS_FORWARDED_HEADER": "x-real-ip"]).load() }
        let many = (0..<65).map { "10.0.0.\($0)" }.joined(separator: ",")
        #expect(throws: ConfigurationError(setting: "PORTCULLIS_TRUSTED_PROXIES", problem: "lists more than 64 addresses or ranges")) {
            try ConfigurationLoader(environment: ["PORTCULLIS_TRUSTED_PROXIES": many]).load()
        }
        do {
            _ = try ConfigurationLoader(environment: ["PORTCULLIS_TRUSTED_PROXIES": "10.0.0.0/8, 10.0.0.0/40"]).load()
            Issue.record("a bad range was accepted")
        } catch {
            #expect(error.setting == "PORTCULLIS_TRUSTED_PROXIES")
            #expect(error.problem.contains("\"10.0.0.0/40\""))
        }
    }

    @Test("session, hashing, database, audit-lag and shutdown settings: documented defaults, and each can be set")
    func resilienceSettings() throws {
        let defaults = try ConfigurationLoader(environment: [:]).load()
        #expect(defaults.sessionMax == .seconds(12 * 3600))
        #expect(defaults.passwordHashThreads == 1 && defaults.passwordHashQueue == 16)
        #expect(defaults.statementTimeout == .seconds(30))
        #expect(defaults.databaseTimeout == .seconds(5) && defaults.auditMaxLag == .seconds(30) && defaults.shutdownTimeout == .seconds(30))
        let set = try ConfigurationLoader(environment: [
            "PORTCULLIS_SESSION_MAX": "2h", "PORTCULLIS_PASSWORD_HASH_THREADS": "2", "PORTCULLIS_PASSWORD_HASH_QUEUE": "8",
            "PORTCULLIS_DATABASE_TIMEOUT": "10s", "PORTCULLIS_STATEMENT_TIMEOUT": "2m", "PORTCULLIS_AUDIT_MAX_LAG": "1m",
            "PORTCULLIS_SHUTDOWN_TIMEOUT": "5s",
        ]).load()
        #expect(set.sessionMax == .seconds(7200) && set.passwordHashThreads == 2 && set.passwordHashQueue == 8)
        #expect(set.statementTimeout == .seconds(120))
        #expect(set.databaseTimeout == .seconds(10) && set.auditMaxLag == .seconds(60) && set.shutdownTimeout == .seconds(5))
    }

    @Test("a flag wins over the environment")
    func flagWins() throws {
        let configuration = try ConfigurationLoader(
            environment: ["PORTCULLIS_PORT": "9090"],
            flags: [.port: "9191"]
        ).load()
        #expect(configuration.port == 9191)
    }

    @Test("an empty variable counts as unset")
    func emptyIsUnset() throws {
        let configuration = try ConfigurationLoader(environment: ["PORTCULLIS_PORT": "", "DATABASE_URL": ""]).load()
        #expect(configuration.port == 8080)
        #expect(configuration.database == .sqlite(path: "./data/portcullis.sqlite"))
    }

    @Test("DATABASE_URL switches to PostgreSQL")
    func postgres() throws {
        let configuration = try ConfigurationLoader(environment: [
            "DATABASE_URL": "postgres://app:secret@db:6543/portcullis",
            "PORTCULLIS_MASTER_KEY": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
        ]).load()
        guard case .postgres(let endpoint) = configuration.database else {
            Issue.record("expected PostgreSQL, got \(configuration.database)")
            return
        }
        #expect(endpoint.address == .tcp(host: "db", port: 6543))
        #expect(endpoint.database == "portcullis")
    }

    @Test(
        "an invalid value is refused naming its variable",
        arguments: [
            ("PORTCULLIS_PORT", "http"),
            ("PORTCULLIS_PORT", "65536"),
            ("PORTCULLIS_PORT", "-1"),
            ("PORTCULLIS_HOST", "local host"),
            ("PORTCULLIS_LOG_LEVEL", "loud"),
            ("PORTCULLIS_LOG_FORMAT", "xml"),
            ("PORTCULLIS_MAX_BODY_BYTES", "0"),
            ("PORTCULLIS_MAX_BODY_BYTES", "10MB"),
            ("DATABASE_URL", "mysql://user@host/db"),
            ("DATABASE_URL", "postgres://host/db"),
            ("PORTCULLIS_AUDIT_RETENTION", "1h"),
            ("PORTCULLIS_AUDIT_RETENTION", "forever"),
            ("PORTCULLIS_AUDIT_WRITE_TIMEOUT", "0s"),
            ("PORTCULLIS_AUDIT_WRITE_TIMEOUT", "1d"),
            ("PORTCULLIS_SESSION_MAX", "1m"),
            ("PORTCULLIS_SESSION_MAX", "10m"),  // shorter than the 15-minute access-token lifetime
            ("PORTCULLIS_PASSWORD_HASH_THREADS", "0"),
            ("PORTCULLIS_PASSWORD_HASH_QUEUE", "many"),
            ("PORTCULLIS_DATABASE_TIMEOUT", "0s"),
            ("PORTCULLIS_STATEMENT_TIMEOUT", "2h"),
            ("PORTCULLIS_AUDIT_MAX_LAG", "2d"),
            ("PORTCULLIS_SHUTDOWN_TIMEOUT", "1h"),
        ]
    )
    func invalid(variable: String, value: String) {
        #expect {
            try ConfigurationLoader(environment: [variable: value]).load()
        } throws: { error in
            guard let error = error as? ConfigurationError else { return false }
            return error.setting == variable && error.description.hasPrefix("invalid \(variable): ")
        }
    }

    @Test("an invalid flag is blamed on the flag")
    func invalidFlag() {
        #expect(throws: ConfigurationError(setting: "--port", problem: "\"x\" is not a port number from 0 to 65535")) {
            try ConfigurationLoader(environment: ["PORTCULLIS_PORT": "8080"], flags: [.port: "x"]).load()
        }
    }

    @Test("a refused DATABASE_URL never repeats its password")
    func databaseURLErrorHidesPassword() {
        do {
            _ = try ConfigurationLoader(environment: ["DATABASE_URL": "postgres://user:hunter2-secret@db/x?bogus=1"]).load()
            Issue.record("expected the URL to be refused")
        } catch {
            #expect(error.setting == "DATABASE_URL")
            #expect(!error.description.contains("hunter2-secret"))
        }
    }
}
