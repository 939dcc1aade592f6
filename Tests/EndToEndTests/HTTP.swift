import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// A response from the real server, body collected.
struct HTTPResult {
    let status: Int
    let headers: HTTPHeaders
    let body: String

    var json: [String: Any]? {
        try? JSONSerialization.jsonObject(with: Data(self.body.utf8)) as? [String: Any]
    }

    var firstErrorReason: String? {
        ((self.json?["errors"] as? [[String: Any]])?.first)?["reason"] as? String
    }
}

enum HTTP {
    /// The suite's client: up to 256 connections per host, so that a test that sends 96 requests at once
    /// really has 96 in flight (the shared client stops at 8 per host). It lives as long as the test process.
    static let client: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 256)
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }()

    /// Sends one request; `timeout` bounds the whole exchange (a hung gateway fails the test, a slow CI machine should not).
    static func request(
        _ method: HTTPMethod = .GET, _ url: String, headers: [(String, String)] = [], body: String? = nil, timeout: TimeAmount = .seconds(30)
    ) async throws -> HTTPResult {
        var request = HTTPClientRequest(url: url)
        request.method = method
        for (name, value) in headers {
            request.headers.add(name: name, value: value)
        }
        if let body {
            request.body = .bytes(ByteBuffer(string: body))
        }
        let response = try await Self.client.execute(request, timeout: timeout)
        let buffer = try await response.body.collect(upTo: 1 << 20)
        return HTTPResult(status: Int(response.status.code), headers: response.headers, body: String(buffer: buffer))
    }
}
