import Foundation
import NIOHTTP1
import TestSupport
import Testing

/// `GET /metrics` of the real binary, scraped as Prometheus would, after some traffic.
@Suite("Prometheus metrics, end to end")
struct MetricsEndToEndTests {
    @Test("/metrics needs metrics.read and exposes the request path's figures in Prometheus text", arguments: Backend.allCases)
    func scrape(backend: Backend) async throws {
        try await LoginConcurrencyEndToEndTests.withServer(backend) { server in
            let token = try #require(try await LoginConcurrencyEndToEndTests.login(server).json?["token"] as? String)
            let auth = [("authorization", "Bearer \(token)")]
            for _ in 0..<3 {
                #expect(try await HTTP.request(.GET, "\(server.baseURL)/api/v1/users/me", headers: auth).status == 200)
            }
            #expect(try await HTTP.request(.GET, "\(server.baseURL)/api/v1/users/me").status == 401)
            #expect(try await HTTP.request(.GET, "\(server.baseURL)/metrics").status == 401)

            let scrape = try await HTTP.request(.GET, "\(server.baseURL)/metrics", headers: auth)
            #expect(scrape.status == 200)
            #expect(scrape.headers.first(name: "content-type")?.hasPrefix("text/plain") == true)
            let text = scrape.body
            // Every figure the README lists, with the labels it names.
            for expected in [
                #"portcullis_requests_total{rule="own-account",status="200"} 3"#,
                #"portcullis_requests_total{rule="own-account",status="401"} 1"#,
                #"portcullis_request_duration_seconds_bucket{rule="own-account",le="#,
                #"portcullis_decisions_total{stage="route",outcome="deny",reason="UNAUTHENTICATED"}"#,
                #"portcullis_token_cache_total{result="hit"}"#,
                #"portcullis_token_cache_total{result="miss"}"#,
                "portcullis_decision_batch_size_count", #"portcullis_decision_commit_seconds_count{result="committed"}"#,
                "portcullis_audit_lag_seconds", "portcullis_audit_pending", "portcullis_dead_letters 0",
                #"portcullis_requests_total{rule="metrics",status="401"} 1"#,
            ] {
                #expect(text.contains(expected), "missing \(expected)")
            }
            // Each line is a comment, or a name with optional labels and a number.
            for line in text.split(separator: "\n") where !line.hasPrefix("#") {
                #expect(line.split(separator: " ").count == 2 && Double(line.split(separator: " ").last!) != nil, "not a sample: \(line)")
            }
            #expect(!text.contains(token), "no token in the exposition")
        }
    }
}
