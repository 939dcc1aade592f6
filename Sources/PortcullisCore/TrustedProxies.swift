import Foundation

/// The proxies whose forwarding headers are believed (`PORTCULLIS_TRUSTED_PROXIES`), and the client address
/// they reveal.
///
/// Only when the connection's peer is one of them is the one forwarding header the proxies write read
/// (`X-Forwarded-For`, or `Forwarded` of RFC 7239 with its `for=` parameters), right to left: each proxy
/// appends the address it saw, so the right-most address that is not a trusted proxy is the client.
/// Everything left of it was written by the client and is ignored, and so is the other header, which a
/// proxy passes through as the client sent it. A request from any other peer is that peer, whatever its
/// headers say.
public struct TrustedProxies: Sendable, Equatable {
    /// The header the proxies write (`PORTCULLIS_FORWARDED_HEADER`).
    public enum Header: String, Sendable, Equatable {
        case xForwardedFor = "x-forwarded-for"
        case forwarded
    }

    public let blocks: [CIDRBlock]
    public var header: Header = .xForwardedFor

    /// The most entries a setting may list, and the most hops of a header that are read.
    public static let maximumBlocks = 64
    static let maximumHops = 32

    public init(_ blocks: [CIDRBlock] = []) {
        self.blocks = blocks
    }

    /// Parses a comma-separated CIDR list; a failure names the first entry that is not one.
    public static func parse(_ text: String) -> Result<TrustedProxies, InvalidEntry> {
        var blocks: [CIDRBlock] = []
        for entry in text.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !entry.isEmpty {
            guard let block = CIDRBlock(entry) else { return .failure(InvalidEntry(entry: String(entry.prefix(64)))) }
            blocks.append(block)
        }
        guard blocks.count <= Self.maximumBlocks else { return .failure(InvalidEntry(entry: "", tooMany: true)) }
        return .success(TrustedProxies(blocks))
    }

    public struct InvalidEntry: Error, Sendable, Equatable {
        public let entry: String
        /// More entries than ``TrustedProxies/maximumBlocks``.
        public var tooMany = false
    }

    public var isEmpty: Bool { self.blocks.isEmpty }

    public func trusts(_ address: IPAddress) -> Bool {
        self.blocks.contains { $0.contains(address) }
    }

    /// The client's address: the peer's (in one spelling), unless the peer is a trusted proxy and its
    /// forwarding header names an earlier hop. `forwarded` and `forwardedFor` are every value of those
    /// headers, in order; only ``header``'s is read.
    public func clientAddress(peer: String, forwarded: [String], forwardedFor: [String]) -> String {
        guard let peerAddress = IPAddress(peer) else { return peer }
        guard !self.blocks.isEmpty, self.trusts(peerAddress) else { return peerAddress.description }
        let hops = self.header == .forwarded ? Self.forwardedHops(forwarded) : Self.forwardedForHops(forwardedFor)
        var client = peerAddress
        for hop in hops.reversed().prefix(Self.maximumHops) {
            // A hop that is not an address (`unknown`, an obfuscated name, garbage) ends the walk: what is left
            // of it cannot be believed, and the last proxy that wrote it is the best we know.
            guard let hop, let address = IPAddress(hop) else { break }
            client = address
            if !self.trusts(address) { break }
        }
        return client.description
    }

    /// The hops of `X-Forwarded-For: a, b, c` (a port after an IPv4 address, as some proxies write it, is dropped).
    static func forwardedForHops(_ values: [String]) -> [String?] {
        values.flatMap { $0.split(separator: ",") }.map { Self.node($0.trimmingCharacters(in: .whitespaces)) }
    }

    /// The `for=` of each element of `Forwarded: for=a;proto=https, for="[2001:db8::1]:443"`; nil for an
    /// element without one.
    static func forwardedHops(_ values: [String]) -> [String?] {
        values.flatMap { $0.split(separator: ",") }.map { element in
            for pair in element.split(separator: ";") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                guard parts.count == 2, parts[0].trimmingCharacters(in: .whitespaces).lowercased() == "for" else { continue }
                return Self.node(parts[1].trimmingCharacters(in: .whitespaces))
            }
            return nil
        }
    }

    /// A `for=` node without quotes, brackets and port: `"[2001:db8::1]:443"` → `2001:db8::1`, `1.2.3.4:80` → `1.2.3.4`.
    static func node(_ value: String) -> String {
        var node = Substring(value)
        if node.hasPrefix("\"") && node.hasSuffix("\"") && node.count >= 2 { node = node.dropFirst().dropLast() }
        if node.hasPrefix("[") {
            guard let close = node.firstIndex(of: "]") else { return String(node) }
            return String(node[node.index(after: node.startIndex)..<close])
        }
        if node.filter({ $0 == ":" }).count == 1, let colon = node.firstIndex(of: ":") { return String(node[..<colon]) }
        return String(node)
    }
}
