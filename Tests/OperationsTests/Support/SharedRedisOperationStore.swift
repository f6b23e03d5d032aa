import Foundation
@testable import Operations

/// `StoreKind.redis`: a `RedisOperationStore` on the shared test server
/// (`SharedTestRedis`) under a key prefix of its own, so every store starts
/// empty and never sees another test's data. Each call waits for the shared
/// server first (it starts on the first call of the process).
final class SharedRedisOperationStore: OperationStore {
    let prefix = "test-" + UUID().uuidString

    var isShared: Bool { true }

    func withWriteLock<T>(_ ref: OperationRef, _ body: () async throws -> T) async throws -> T {
        try await store().withWriteLock(ref, body)
    }

    func store() async throws -> RedisOperationStore {
        try RedisOperationStore(client: try await SharedTestRedis.shared.running().client, keyPrefix: prefix)
    }

    func isReady() async -> Bool {
        guard let store = try? await store() else { return false }
        return await store.isReady()
    }

    func insert(_ operation: OperationRecord, completing key: IdempotencyKey?) async throws {
        try await store().insert(operation, completing: key)
    }

    func operation(_ ref: OperationRef) async throws -> OperationRecord? {
        try await store().operation(ref)
    }

    func list(_ query: OperationQuery) async throws -> OperationPage {
        try await store().list(query)
    }

    func replace(_ operation: OperationRecord, expectedVersion: Int, appending lines: [LogLine], logCap: Int) async throws {
        try await store().replace(operation, expectedVersion: expectedVersion, appending: lines, logCap: logCap)
    }

    func touch(_ ref: OperationRef, heartbeatAt: Date, expectedVersion: Int) async throws {
        try await store().touch(ref, heartbeatAt: heartbeatAt, expectedVersion: expectedVersion)
    }

    func delete(_ ref: OperationRef, expectedVersion: Int) async throws {
        try await store().delete(ref, expectedVersion: expectedVersion)
    }

    func logs(_ ref: OperationRef, after: Int, limit: Int) async throws -> LogPage {
        try await store().logs(ref, after: after, limit: limit)
    }

    func claimIdempotencyKey(
        _ key: IdempotencyKey, fingerprint: String, now: Date, ttl: TimeInterval, lease: TimeInterval
    ) async throws -> IdempotencyClaim {
        try await store().claimIdempotencyKey(key, fingerprint: fingerprint, now: now, ttl: ttl, lease: lease)
    }

    func releaseIdempotencyKey(_ key: IdempotencyKey) async throws {
        try await store().releaseIdempotencyKey(key)
    }

    func purgeIdempotencyKeys(olderThan date: Date) async throws -> Int {
        try await store().purgeIdempotencyKeys(olderThan: date)
    }

    func expiredHeartbeats(at now: Date, limit: Int) async throws -> [OperationRef] {
        try await store().expiredHeartbeats(at: now, limit: limit)
    }

    func purgeFinished(before date: Date, limit: Int) async throws -> [OperationRef] {
        try await store().purgeFinished(before: date, limit: limit)
    }

    func scan(after cursor: OperationRef?, limit: Int) async throws -> [OperationRecord] {
        try await store().scan(after: cursor, limit: limit)
    }
}
