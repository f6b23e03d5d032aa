import Foundation
import NIOCore

/// The message every committed change publishes on
/// `RedisOperationStore.changeChannel`, from inside the script that commits
/// it: `{"tenant":"acme","id":"op_…","version":3}`. Version 0 means the
/// operation was deleted (by `delete` or the retention sweep). Heartbeats
/// (`touch`) publish nothing: the version does not change.
public struct RedisOperationChange: Sendable, Hashable, Codable {
    public var tenant: String
    public var id: String
    public var version: Int

    public init(tenant: String, id: String, version: Int) {
        self.tenant = tenant
        self.id = id
        self.version = version
    }

    public var ref: OperationRef { OperationRef(tenant: tenant, id: id) }

    /// The change a published payload describes, or nil when it is not one.
    public init?(payload: ByteBuffer) {
        guard let change = try? JSONDecoder().decode(Self.self, from: Data(payload.readableBytesView)) else { return nil }
        self = change
    }
}
