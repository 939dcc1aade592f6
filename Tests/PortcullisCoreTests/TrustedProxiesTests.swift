import PortcullisCore
import Testing

@Suite("Client addresses behind trusted proxies")
struct TrustedProxiesTests {
    static func proxies(_ text: String) throws -> TrustedProxies {
        try TrustedProxies.parse(text).get()
    }

    @Test("addresses and CIDR ranges: IPv4, IPv6, IPv4-mapped IPv6, one spelling each")
    func ranges() throws {
        #expect(IPAddress("10.1.2.3")?.description == "10.1.2.3")
        #expect(IPAddress("2001:DB8:0:0::1")?.description == "2001:db8::1")
        #expect(IPAddress("::ffff:192.0.2.7")?.description == "192.0.2.7")
        for bad in ["", "10.1.2", "10.1.2.256", "1.2.3.4 ", "fe80::1%eth0", "unknown", "_hidden", String(repeating: "1", count: 100)] {
            #expect(IPAddress(bad) == nil, "\(bad)")
        }
        let ten = try #require(CIDRBlock("10.0.0.0/8"))
        #expect(ten.contains(IPAddress("10.255.0.1")!))
        #expect(!ten.contains(IPAddress("11.0.0.1")!))
        #expect(!ten.contains(IPAddress("::a00:1")!), "an IPv6 address is never in an IPv4 range")
        let odd = try #require(CIDRBlock("192.168.1.128/25"))
        #expect(odd.contains(IPAddress("192.168.1.200")!))
        #expect(!odd.contains(IPAddress("192.168.1.127")!))
        #expect(try #require(CIDRBlock("2001:db8::/32")).contains(IPAddress("2001:db8:ffff::9")!))
        #expect(try #require(CIDRBlock("127.0.0.1")).contains(IPAddress("::ffff:127.0.0.1")!), "a bare address is a range of one")
        #expect(try #require(CIDRBlock("0.0.0.0/0")).contains(IPAddress("8.8.8.8")!))
        for bad in ["10.0.0.0/33", "10.0.0.0/-1", "10.0.0.0/", "10.0.0.0/8/8", "::/129", "10.0.0.0/٣", "example.com"] {
            #expect(CIDRBlock(bad) == nil, "\(bad)")
        }
        #expect(try Self.proxies(" 10.0.0.0/8 , ::1,").blocks.count == 2)
        #expect(throws: TrustedProxies.InvalidEntry.self) { try TrustedProxies.parse("10.0.0.0/8, nonsense").get() }
    }

    @Test("an untrusted peer is the client whatever its headers say")
    func untrustedPeer() throws {
        let proxies = try Self.proxies("10.0.0.0/8")
        #expect(proxies.clientAddress(peer: "203.0.113.5", forwarded: ["for=1.1.1.1"], forwardedFor: ["1.1.1.1"]) == "203.0.113.5")
        #expect(TrustedProxies().clientAddress(peer: "10.0.0.1", forwarded: [], forwardedFor: ["1.1.1.1"]) == "10.0.0.1", "no proxies set")
        #expect(proxies.clientAddress(peer: "unknown", forwarded: [], forwardedFor: ["1.1.1.1"]) == "unknown")
    }

    @Test("through two trusted proxies the right-most untrusted hop is the client; what the client wrote is ignored")
    func chain() throws {
        let proxies = try Self.proxies("10.0.0.0/8")
        // client 203.0.113.9 → proxy 10.0.0.2 → proxy 10.0.0.1 → gateway; the client forged 6.6.6.6.
        #expect(proxies.clientAddress(peer: "10.0.0.1", forwarded: [], forwardedFor: ["6.6.6.6, 203.0.113.9", "10.0.0.2"]) == "203.0.113.9")
        #expect(proxies.clientAddress(peer: "10.0.0.1", forwarded: [], forwardedFor: ["203.0.113.9:51234, 10.0.0.2"]) == "203.0.113.9")
        #expect(proxies.clientAddress(peer: "10.0.0.1", forwarded: [], forwardedFor: []) == "10.0.0.1", "no header: the proxy itself")
        #expect(proxies.clientAddress(peer: "10.0.0.1", forwarded: [], forwardedFor: ["10.0.0.3, 10.0.0.2"]) == "10.0.0.3", "all trusted: the first")
        // A hop that is not an address stops the walk at the last proxy that wrote it.
        #expect(proxies.clientAddress(peer: "10.0.0.1", forwarded: [], forwardedFor: ["203.0.113.9, garbage, 10.0.0.2"]) == "10.0.0.2")
        #expect(proxies.clientAddress(peer: "10.0.0.1", forwarded: [], forwardedFor: ["2001:DB8::7"]) == "2001:db8::7")
    }

    @Test("only the header the proxies write is read: a Forwarded the client sent through is ignored, and the other way round")
    func oneHeader() throws {
        var proxies = try Self.proxies("10.0.0.0/8")
        #expect(proxies.header == .xForwardedFor, "the default")
        #expect(proxies.clientAddress(peer: "10.0.0.1", forwarded: ["for=1.2.3.4"], forwardedFor: ["203.0.113.9"]) == "203.0.113.9")
        proxies.header = .forwarded
        #expect(proxies.clientAddress(peer: "10.0.0.1", forwarded: ["for=203.0.113.9"], forwardedFor: ["1.2.3.4"]) == "203.0.113.9")
        #expect(proxies.clientAddress(peer: "10.0.0.1", forwarded: [], forwardedFor: ["1.2.3.4"]) == "10.0.0.1")
        // One address, one spelling, so that login throttling counts it once.
        #expect(proxies.clientAddress(peer: "::ffff:192.0.2.7", forwarded: [], forwardedFor: []) == "192.0.2.7")
    }

    @Test("Forwarded (RFC 7239): quotes, brackets and ports are read")
    func forwarded() throws {
        var proxies = try Self.proxies("10.0.0.0/8")
        proxies.header = .forwarded
        let value = #"for=6.6.6.6, for="[2001:db8:cafe::17]:4711";proto=https, For=10.0.0.2"#
        #expect(proxies.clientAddress(peer: "10.0.0.1", forwarded: [value], forwardedFor: ["1.1.1.1"]) == "2001:db8:cafe::17")
        #expect(proxies.clientAddress(peer: "10.0.0.1", forwarded: ["proto=https;for=192.0.2.60:80"], forwardedFor: []) == "192.0.2.60")
        #expect(proxies.clientAddress(peer: "10.0.0.1", forwarded: ["for=unknown"], forwardedFor: []) == "10.0.0.1")
        #expect(proxies.clientAddress(peer: "10.0.0.1", forwarded: ["proto=https"], forwardedFor: []) == "10.0.0.1")
    }
}
