import Foundation
import HubTesting

/// A throw-away CA and a server certificate for the name `localhost` (and
/// deliberately not for the address 127.0.0.1, so that name checks show),
/// made with the `openssl` command line in a temporary directory.
struct TestCertificates {
    let directory: String
    var caCertificate: String { directory + "/ca.pem" }
    var serverCertificate: String { directory + "/server.pem" }
    var serverKey: String { directory + "/server.key" }

    var serverFiles: RedisServer.TLSFiles {
        RedisServer.TLSFiles(certificate: serverCertificate, key: serverKey, caCertificate: caCertificate)
    }

    static func make() throws -> TestCertificates {
        let directory = NSTemporaryDirectory() + "redis-tls-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try "subjectAltName=DNS:localhost\n".write(toFile: directory + "/ext.cnf", atomically: true, encoding: .utf8)
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        try openssl(["req", "-x509"] + ec + ["-keyout", "ca.key", "-out", "ca.pem", "-days", "1", "-subj", "/CN=hub-test-ca"], in: directory)
        try openssl(["req"] + ec + ["-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost"], in: directory)
        try openssl(
            [
                "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                "-out", "server.pem", "-days", "1", "-extfile", "ext.cnf",
            ], in: directory)
        return TestCertificates(directory: directory)
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: directory)
    }

    private static func openssl(_ arguments: [String], in directory: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw RedisServerError("openssl \(arguments.first ?? "") failed with status \(process.terminationStatus)")
        }
    }
}
