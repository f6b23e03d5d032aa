import Foundation
import Gateway
import HTTPTypes
import Hub
import HubTesting
import Testing

@Suite("Graceful shutdown")
struct ShutdownTests {
    @Test func shutdownSendsReconnectThenCloses1012() async throws {
        let probes = try await TestHub.run { hub in
            var probes: [WSProbe] = []
            for _ in 0..<3 {
                let probe = try await connect(hub)
                _ = try await subscribe(probe, ["application:a:status"])
                probes.append(probe)
            }
            return probes
        }
        for probe in probes {
            let frame = try await probe.next()
            #expect(frame["type"] as? String == "reconnect")
            #expect(frame["reason"] as? String == "server_shutdown")
            #expect(try await probe.closed() == 1012)
        }
    }
}
