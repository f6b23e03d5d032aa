import Foundation
import HubTesting
import Protocol
import Testing

/// The conformance checker on made-up responses against a small spec: each
/// kind of mismatch is found (so the live tests can fail).
@Suite("OpenAPI conformance checker")
struct OpenAPIConformanceCheckTests {
    static let yaml = """
        openapi: 3.1.0
        info: {title: t, version: '1'}
        paths:
          /things/{id}:
            get:
              operationId: getThing
              responses:
                '200':
                  description: ok
                  headers:
                    ETag: {$ref: '#/components/headers/ETag'}
                    Retry-After: {schema: {type: string, pattern: '^[0-9]+$'}}
                  content:
                    application/json:
                      schema: {$ref: '#/components/schemas/Thing'}
                '304':
                  description: not modified
                  headers:
                    ETag: {$ref: '#/components/headers/ETag'}
          /things/special:
            get:
              operationId: getSpecial
              responses:
                '200':
                  description: ok
                  content:
                    text/plain: {schema: {type: string}}
          /things/{id}/lines:
            get:
              operationId: getLines
              responses:
                '200':
                  description: ok
                  content:
                    application/x-ndjson:
                      schema: {type: string}
                      x-item-schema: {$ref: '#/components/schemas/Thing'}
        components:
          headers:
            ETag: {required: true, schema: {type: string, pattern: '^"[0-9]+"$'}}
          schemas:
            Thing:
              type: object
              required: [id]
              additionalProperties: false
              properties:
                id: {type: string}
        """

    let checker: OpenAPIConformance

    init() throws {
        checker = OpenAPIConformance(document: try OpenAPIDocument(root: JSONValue.parseYAML(Self.yaml)))
    }

    func response(_ status: Int, _ headers: [(String, String)], _ body: String?) -> OpenAPIResponse {
        OpenAPIResponse(status: status, headers: headers.map { (name: $0.0, value: $0.1) }, body: body.map { Data($0.utf8) })
    }

    let json = ("Content-Type", "application/json; charset=utf-8")

    @Test func aConformingResponseHasNoProblem() {
        #expect(checker.problems("GET", "/things/a1", response(200, [json, ("etag", "\"3\"")], #"{"id":"a1"}"#)).isEmpty)
        #expect(checker.problems("get", "/things/a1?x=1", response(304, [("ETag", "\"3\"")], "")).isEmpty)
        #expect(checker.problems("GET", "/things/special", response(200, [("Content-Type", "text/plain")], "hi")).isEmpty)
    }

    @Test func eachMismatchIsFound() {
        let undocumented = checker.problems("GET", "/things/a1", response(418, [json], "{}"))
        #expect(undocumented.count == 1 && undocumented[0].contains("418 is not documented"), "\(undocumented)")
        let noOperation = checker.problems("POST", "/things/a1", response(200, [json], "{}"))
        #expect(noOperation.first?.contains("no operation") == true)
        let missingHeader = checker.problems("GET", "/things/a1", response(200, [json], #"{"id":"a1"}"#))
        #expect(missingHeader.count == 1 && missingHeader[0].contains("ETag is missing"), "\(missingHeader)")
        let badHeader = checker.problems("GET", "/things/a1", response(200, [json, ("ETag", "3"), ("Retry-After", "soon")], #"{"id":"a1"}"#))
        #expect(badHeader.count == 2, "\(badHeader)")
        let wrongType = checker.problems("GET", "/things/a1", response(200, [("Content-Type", "text/html"), ("ETag", "\"1\"")], "<p>"))
        #expect(wrongType.count == 1 && wrongType[0].contains("text/html is not documented"), "\(wrongType)")
        let noType = checker.problems("GET", "/things/a1", response(200, [("ETag", "\"1\"")], #"{"id":"a1"}"#))
        #expect(noType.first?.contains("no Content-Type") == true)
        let badBody = checker.problems("GET", "/things/a1", response(200, [json, ("ETag", "\"1\"")], #"{"id":1,"extra":true}"#))
        #expect(badBody.count == 2, "\(badBody)")
        let notJSON = checker.problems("GET", "/things/a1", response(200, [json, ("ETag", "\"1\"")], "nope"))
        #expect(notJSON.first?.contains("not JSON") == true)
        let unexpectedBody = checker.problems("GET", "/things/a1", response(304, [("ETag", "\"1\"")], "{}"))
        #expect(unexpectedBody.first?.contains("documents none") == true)
    }

    @Test func literalPathsWinOverTemplates() {
        let special = checker.document.operation("GET", "/things/special")
        #expect(special?.operationID == "getSpecial")
        #expect(checker.document.operation("GET", "/things/other")?.operationID == "getThing")
        #expect(checker.document.operation("GET", "/things") == nil)
        #expect(checker.document.operation("GET", "/things/") == nil)
        #expect(PathTemplate("/a/{x}/b").match("/a/op%3A1/b") == ["x": "op:1"])
    }

    @Test func streamedItemsAreCheckedLineByLine() {
        let ndjson = ("Content-Type", "application/x-ndjson")
        #expect(checker.problems("GET", "/things/a/lines", response(200, [ndjson], "{\"id\":\"1\"}\n{\"id\":\"2\"}\n")).isEmpty)
        let bad = checker.problems("GET", "/things/a/lines", response(200, [ndjson], "{\"id\":\"1\"}\n{\"id\":2}\n"))
        #expect(bad.count == 1 && bad[0].contains("line 2"), "\(bad)")
        #expect(checker.itemProblems("GET", "/things/a/lines", status: 200, mediaType: "application/x-ndjson", item: Data(#"{"id":"x"}"#.utf8)).isEmpty)
        #expect(!checker.itemProblems("GET", "/things/a/lines", status: 200, mediaType: "application/x-ndjson", item: Data("{}".utf8)).isEmpty)
        #expect(!checker.itemProblems("GET", "/things/a1", status: 200, mediaType: "application/json", item: Data("{}".utf8)).isEmpty)
    }

    @Test func responseHeadsParse() throws {
        let head = try #require(OpenAPIResponse(head: "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nconnection: upgrade"))
        #expect(head.status == 101)
        #expect(head.values("Connection") == ["upgrade"])
        #expect(head.body == nil)
        #expect(OpenAPIResponse(head: "garbage") == nil)
    }
}
