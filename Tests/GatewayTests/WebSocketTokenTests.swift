import HummingbirdCore
import NIOHTTP1
import Testing

@testable import Gateway

@Suite("WebSocket upgrade: where the token comes from")
struct WebSocketTokenTests {
    func head(_ headers: [(String, String)] = []) -> HTTPRequestHead {
        HTTPRequestHead(version: .http1_1, method: .GET, uri: "/ws/v1", headers: HTTPHeaders(headers))
    }

    @Test func aJWTInTheQueryIsTakenAsItIs() {
        let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLV8"
        #expect(WebSocketUpgrade.token(head(), uri: URI("/ws/v1?token=\(jwt)")) == jwt)
        #expect(WebSocketUpgrade.token(head(), uri: URI("/ws/v1?since=1&token=\(jwt)&x=y")) == jwt)
    }

    @Test func aPercentEncodedTokenIsDecoded() {
        #expect(WebSocketUpgrade.token(head(), uri: URI("/ws/v1?token=a%2Eb%2Ec")) == "a.b.c")
    }

    @Test func aMalformedEscapeIsLeftAsItIs() {
        // Not valid percent-encoding: the verifier gets the bytes and refuses them (error frame, 4001).
        #expect(WebSocketUpgrade.token(head(), uri: URI("/ws/v1?token=a%zzb")) == "a%zzb")
    }

    @Test func theAuthorizationHeaderWinsAndMustBeBearer() {
        #expect(WebSocketUpgrade.token(head([("Authorization", "Bearer h.e.ader")]), uri: URI("/ws/v1?token=q.u.ery")) == "h.e.ader")
        #expect(WebSocketUpgrade.token(head([("Authorization", "bearer h.e.ader")]), uri: URI("/ws/v1")) == "h.e.ader")
        #expect(WebSocketUpgrade.token(head([("Authorization", "Basic dXNlcjpwdw==")]), uri: URI("/ws/v1?token=q.u.ery")) == nil)
    }

    @Test func noToken() {
        #expect(WebSocketUpgrade.token(head(), uri: URI("/ws/v1")) == nil)
        #expect(WebSocketUpgrade.token(head(), uri: URI("/ws/v1?tokens=x&token")) == nil)
    }
}

@Suite("Query values")
struct QueryValueTests {
    @Test(arguments: [
        ("token=abc", "abc"), ("a=1&token=abc&b=2", "abc"), ("token=&token=second", "second"), ("tokens=x&token=y", "y"),
        ("xtoken=x", nil), ("token", nil), ("", nil), ("&&token=a=b", "a=b"), ("token=é.ü", "é.ü"),
    ] as [(String, String?)])
    func theFirstNonEmptyValueOfTheName(query: String, expected: String?) {
        #expect(WebSocketUpgrade.token(HTTPRequestHead(version: .http1_1, method: .GET, uri: "/ws/v1"), uri: URI("/ws/v1?" + query)) == expected)
    }
}
