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
        #expect(WebSocketUpgrade.token(head(), query: "token=\(jwt)") == jwt)
        #expect(WebSocketUpgrade.token(head(), query: "since=1&token=\(jwt)&x=y") == jwt)
    }

    @Test func aPercentEncodedTokenIsDecoded() {
        #expect(WebSocketUpgrade.token(head(), query: "token=a%2Eb%2Ec") == "a.b.c")
    }

    @Test func aMalformedEscapeIsLeftAsItIs() {
        // Not valid percent-encoding: the verifier gets the bytes and refuses them (error frame, 4001).
        #expect(WebSocketUpgrade.token(head(), query: "token=a%zzb") == "a%zzb")
    }

    @Test func theAuthorizationHeaderWinsAndMustBeBearer() {
        #expect(WebSocketUpgrade.token(head([("Authorization", "Bearer h.e.ader")]), query: "token=q.u.ery") == "h.e.ader")
        #expect(WebSocketUpgrade.token(head([("Authorization", "bearer h.e.ader")]), query: nil) == "h.e.ader")
        #expect(WebSocketUpgrade.token(head([("Authorization", "Basic dXNlcjpwdw==")]), query: "token=q.u.ery") == nil)
    }

    @Test func noToken() {
        #expect(WebSocketUpgrade.token(head(), query: nil) == nil)
        #expect(WebSocketUpgrade.token(head(), query: "tokens=x&token") == nil)
    }
}

@Suite("Query values")
struct QueryValueTests {
    @Test(arguments: [
        ("token=abc", "abc"), ("a=1&token=abc&b=2", "abc"), ("token=&token=second", "second"), ("tokens=x&token=y", "y"),
        ("xtoken=x", nil), ("token", nil), ("", nil), ("&&token=a=b", "a=b"), ("token=é.ü", "é.ü"),
    ] as [(String, String?)])
    func theFirstNonEmptyValueOfTheName(query: String, expected: String?) {
        #expect(WebSocketUpgrade.queryValue("token", in: query).map(String.init) == expected)
    }
}
