import Foundation
import Gateway
import Logging
import Synchronization
import Testing

@Suite("JSON log lines")
struct JSONLogHandlerTests {
    @Test func eachEventIsOneJSONObjectOnOneLine() throws {
        let lines = Mutex<[String]>([])
        let sink = JSONLogSink { bytes in lines.withLock { $0.append(String(decoding: bytes, as: UTF8.self)) } }
        var logger = Logger(label: "hub.test") { label in JSONLogHandler(label: label, sink: sink) }
        logger[metadataKey: "hub.request.id"] = "req_1"
        logger.info("opened \"quoted\"\nnext line", metadata: ["hub.connection.id": "c_1", "n": .stringConvertible(3), "list": ["a", "b"]])
        logger.debug("not at info")
        let written = lines.withLock { $0 }
        #expect(written.count == 1)
        let line = try #require(written.first)
        #expect(line.hasSuffix("}\n"))
        #expect(line.dropLast().contains("\n") == false)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(object["level"] as? String == "info")
        #expect(object["label"] as? String == "hub.test")
        #expect(object["message"] as? String == "opened \"quoted\"\nnext line")
        #expect(object["hub.request.id"] as? String == "req_1")
        #expect(object["hub.connection.id"] as? String == "c_1")
        #expect(object["n"] as? String == "3")
        #expect(object["list"] as? [String] == ["a", "b"])
        #expect((object["timestamp"] as? String)?.hasSuffix("Z") == true)
    }
}
