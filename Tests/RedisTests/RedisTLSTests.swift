import HubTesting
import NIOCore
import NIOSSL
import Testing

@testable import Redis

/// Debian's redis-server 7.0 is built with TLS: these run against a real
/// TLS-only server (`--port 0 --tls-port …`) with a CA made for the test.
@Suite("Redis over TLS", .timeLimit(.minutes(1)))
struct RedisTLSTests {
    func withTLSServer(_ body: (RedisServer, TestCertificates) async throws -> Void) async throws {
        let certificates = try TestCertificates.make()
        defer { certificates.remove() }
        try await withRedisServer(tls: certificates.serverFiles) { server in
            try await body(server, certificates)
        }
    }

    @Test func verifiedConnectionThroughARedissURL() async throws {
        try await withTLSServer { server, certificates in
            let configuration = try RedisConfiguration(url: "rediss://localhost:\(server.port)?ca_file=\(certificates.caCertificate)")
            #expect(configuration.tls != nil)
            try await withClient(configuration) { client async throws in
                _ = try await client.send(["SET", "secure", .bytes(ByteBuffer(repeating: 7, count: 100_000))])
                #expect(try await client.send(["STRLEN", "secure"]) == .integer(100_000))
                let replies = try await client.pipeline(Array(repeating: ["INCR", "n"], count: 1000))
                #expect(replies.last == .integer(1000))
            }
        }
    }

    @Test func serverNameIsCheckedAgainstTheCertificate() async throws {
        try await withTLSServer { server, certificates in
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.trustRoots = .file(certificates.caCertificate)
            var configuration = try server.configuration { $0.tls = tls }
            // 127.0.0.1 is not in the certificate: connecting by address alone fails.
            let byAddress = await redisError { try await RedisConnection.connect(configuration: configuration, logger: testLogger) }
            #expect(byAddress?.code == .connectionFailed)
            configuration.tlsServerName = "localhost"
            try await withConnection(configuration) { connection async throws in
                #expect(try await connection.send(["PING"]) == .simpleString("PONG"))
            }
            configuration.tlsServerName = "other.example"
            let wrongName = await redisError { try await RedisConnection.connect(configuration: configuration, logger: testLogger) }
            #expect(wrongName?.code == .connectionFailed)
        }
    }

    @Test func anUntrustedCertificateIsRefusedUnlessVerificationIsOff() async throws {
        try await withTLSServer { server, _ in
            // The system roots do not know the test CA.
            let untrusted = try RedisConfiguration(url: server.url)
            let error = await redisError { try await RedisConnection.connect(configuration: untrusted, logger: testLogger) }
            #expect(error?.code == .connectionFailed)
            #expect(error?.message.lowercased().contains("certificate") == true, "\(String(describing: error))")
            let unverified = try RedisConfiguration(url: server.url + "?verify=none")
            try await withConnection(unverified) { connection async throws in
                #expect(try await connection.send(["PING"]) == .simpleString("PONG"))
            }
            // Plain TCP to a TLS port is not Redis to us.
            var plain = try server.configuration { $0.connectTimeout = .seconds(1) }
            plain.tls = nil
            let mismatch = await redisError { try await RedisConnection.connect(configuration: plain, logger: testLogger) }
            #expect(mismatch != nil)
        }
    }

    @Test func subscriberOverTLS() async throws {
        try await withTLSServer { server, certificates in
            let configuration = try RedisConfiguration(url: "rediss://localhost:\(server.port)?ca_file=\(certificates.caCertificate)")
            let recorder = EventRecorder()
            try await withSubscriber(configuration, recorder: recorder) { subscriber async throws in
                try await subscriber.subscribe(["secure"])
                #expect(try await recorder.next() == .connected)
                try await withConnection(configuration) { publisher in
                    _ = try await publisher.send(["PUBLISH", "secure", "sealed"])
                }
                #expect(try await recorder.nextMessage().payload == ByteBuffer(string: "sealed"))
            }
        }
    }
}
