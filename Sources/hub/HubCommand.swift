import ArgumentParser
import Foundation
import Gateway
import Logging
import Protocol
import ServiceLifecycle

@main
struct HubCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hub",
        abstract: "The Operations Hub: long-running operations, real-time fan-out and an API gateway.",
        version: HubServer.version,
        subcommands: [Serve.self, Token.self],
        defaultSubcommand: Serve.self)
}

struct ConfigOptions: ParsableArguments {
    @Option(name: .long, help: "Configuration file (default: ./hub.yaml when present).")
    var config: String?

    func load() throws -> HubConfiguration {
        do {
            return try HubConfiguration.load(file: config, environment: ProcessInfo.processInfo.environment)
        } catch let error as ConfigurationError {
            throw ValidationError(error.message)
        }
    }
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the hub (the default).")

    @OptionGroup var options: ConfigOptions

    func run() async throws {
        let configuration = try options.load()
        let logger = LogSetup.logger(configuration)
        FileLimits.raiseOpenFileLimit()
        let server = try await HubServer(configuration: configuration, logger: logger)
        let host = configuration.server.host
        let summary = server.summary
        let group = server.makeServiceGroup { port in
            print("hub \(HubServer.version) listening on http://\(host):\(port) (\(summary))")
            print("  get a token:  hub token --sub alice --tenant acme --role admin")
            print("  WebSocket:    ws://\(host):\(port)/ws/v1?token=TOKEN")
            // stdout is block-buffered when it is not a terminal: whoever waits for this line gets it now.
            fflush(nil)
        }
        try await group.run()
    }
}

struct Token: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print a development token signed with the hub's HS256 secret.")

    @OptionGroup var options: ConfigOptions
    @Option(help: "Subject (user id).") var sub: String
    @Option(help: "Tenant.") var tenant: String
    @Option(help: "Role name (repeatable).") var role: [String] = []
    @Option(help: "Scope of the roles: tenant:ID or team:ID (default: the tenant).") var scope: String?
    @Option(help: "Extra permission resource:action (repeatable).") var permission: [String] = []
    @Option(help: "Lifetime: 90s, 30m, 1h, 7d.") var ttl: String = "1h"

    func run() async throws {
        let configuration = try options.load()
        guard let seconds = Token.parseDuration(ttl) else { throw ValidationError("--ttl must look like 90s, 30m, 1h or 7d") }
        var roleScope: RoleScope?
        if let scope {
            guard let parsed = RoleScope(scope) else { throw ValidationError("--scope must be tenant:ID or team:ID") }
            roleScope = parsed
        }
        var permissions: [Permission] = []
        for text in permission {
            guard let parsed = Permission(text) else { throw ValidationError("--permission '\(text)' must be resource:action") }
            permissions.append(parsed)
        }
        var roles = role.map { RoleGrant(role: $0, scope: roleScope) }
        if !permissions.isEmpty {
            if roles.isEmpty { roles = [RoleGrant(role: "custom", scope: roleScope, permissions: permissions)] }
            else { roles[0].permissions = permissions }
        }
        let secret = try KeyLoader.secret(configured: configuration.auth.jwtSecret, dataDir: configuration.dataDir)
        let signer = await TokenSigner(secret: secret)
        let token = try await signer.sign(
            subject: sub, tenant: tenant, roles: roles, ttl: seconds, issuer: configuration.auth.jwtIssuer,
            audience: configuration.auth.jwtAudience)
        print(token)
    }

    static func parseDuration(_ text: String) -> TimeInterval? {
        guard let unit = text.last, let value = Double(text.dropLast()), value > 0 else { return Double(text) }
        switch unit {
        case "s": return value
        case "m": return value * 60
        case "h": return value * 3600
        case "d": return value * 86400
        default: return nil
        }
    }
}
