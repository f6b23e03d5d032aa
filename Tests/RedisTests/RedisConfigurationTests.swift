import NIOSSL
import Testing

@testable import Redis

@Suite("RedisConfiguration")
struct RedisConfigurationTests {
    @Test func plainURLs() throws {
        let minimal = try RedisConfiguration(url: "redis://cache")
        #expect(minimal.host == "cache")
        #expect(minimal.port == 6379)
        #expect(minimal.database == 0)
        #expect(minimal.username == nil && minimal.password == nil && minimal.tls == nil)

        let full = try RedisConfiguration(url: "redis://hub:p%40ss%3Aword@10.0.0.5:6380/7")
        #expect(full.host == "10.0.0.5")
        #expect(full.port == 6380)
        #expect(full.database == 7)
        #expect(full.username == "hub")
        #expect(full.password == "p@ss:word")

        let passwordOnly = try RedisConfiguration(url: "redis://:secret@localhost/")
        #expect(passwordOnly.username == nil)
        #expect(passwordOnly.password == "secret")
        #expect(passwordOnly.database == 0)

        let ipv6 = try RedisConfiguration(url: "redis://[::1]:7000/2")
        #expect(ipv6.host == "::1")
        #expect(ipv6.port == 7000)
        #expect(ipv6.database == 2)
    }

    @Test func tlsURLs() throws {
        let tls = try RedisConfiguration(url: "rediss://redis.example.com:6390")
        #expect(tls.tls != nil)
        #expect(tls.tls?.certificateVerification == .fullVerification)
        let custom = try RedisConfiguration(url: "rediss://127.0.0.1:6390?ca_file=%2Ftmp%2Fca.pem&verify=ca")
        #expect(custom.tls?.trustRoots == .file("/tmp/ca.pem"))
        #expect(custom.tls?.certificateVerification == .noHostnameVerification)
        #expect(try RedisConfiguration(url: "rediss://h?verify=none").tls?.certificateVerification == CertificateVerification.none)
    }

    @Test(arguments: [
        "http://host", "redis:/host", "redis://", "redis://:6379", "redis://host:0", "redis://host:65536",
        "redis://host:12ab", "redis://host/x", "redis://host/-1", "redis://host/1/2", "redis://user@host",
        "redis://[::1", "redis://[::1]x", "redis://host?verify=none", "rediss://host?colour=blue",
        "rediss://host?verify=maybe", "rediss://host?ca_file=", "redis://:%zz@host", "redis://ho st",
    ])
    func badURLsAreRejected(_ url: String) {
        #expect {
            try RedisConfiguration(url: url)
        } throws: { error in
            (error as? RedisError)?.code == .invalidURL
        }
    }

    @Test func descriptionMasksThePassword() throws {
        let configuration = try RedisConfiguration(url: "redis://hub:topsecret@cache:6380/3")
        #expect(configuration.description == "redis://hub:***@cache:6380/3")
        #expect(!"\(configuration)".contains("topsecret"))
    }

    @Test func outOfRangeValuesAreRejectedByTheClient() {
        for configure in [
            { (c: inout RedisConfiguration) in c.poolSize = 0 },
            { (c: inout RedisConfiguration) in c.database = -1 },
            { (c: inout RedisConfiguration) in c.commandTimeout = .zero },
            { (c: inout RedisConfiguration) in c.connectTimeout = .seconds(-1) },
        ] {
            var configuration = RedisConfiguration()
            configure(&configuration)
            #expect {
                try RedisClient(configuration: configuration, logger: testLogger)
            } throws: { error in
                (error as? RedisError)?.code == .invalidConfiguration
            }
        }
    }
}
