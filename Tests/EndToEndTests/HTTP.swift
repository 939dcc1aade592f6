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
    static func request(_ method: HTTPMethod = .GET, _ url: String, headers: [(String, String)] = [], body: String? = nil) async throws -> HTTPResult
    {
        var request = HTTPClientRequest(url: url)
        request.method = method
        for (name, value) in headers {
            request.headers.add(name: name, value: value)
        }
        if let body {
            request.body = .bytes(ByteBuffer(string: body))
        }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let buffer = try await response.body.collect(upTo: 1 << 20)
        return HTTPResult(status: Int(response.status.code), headers: response.headers, body: String(buffer: buffer))
    }
}
