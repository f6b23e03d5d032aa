import Foundation
import Logging
import Protocol

extension OperationService {
    /// Fails every running operation whose worker has been silent past its
    /// heartbeat timeout (`WORKER_TIMEOUT`, with its events). Returns how many.
    @discardableResult
    public func expireHeartbeats() async throws -> Int {
        var failed = 0
        while true {
            let refs = try await store.expiredHeartbeats(at: now, limit: 100)
            var progressed = false
            for ref in refs {
                do {
                    let (op, committed) = try await changeCommitting(ref, ifMatch: nil) { op, now in
                        (OperationStateMachine.expireHeartbeat(op, now: now), [])
                    }
                    // Counted only by the node that failed it (another may have, a moment before).
                    if committed, op.status == .failed, op.error?.code == OperationFailure.workerTimeoutCode {
                        failed += 1
                        progressed = true
                        logger.notice("operation failed: worker timeout", metadata: ["hub.operation.id": "\(ref.id)"])
                    }
                } catch let error as OperationError where error.code == .notFound || error.code == .conflict {
                    // Gone, or changed first by another writer (another node's
                    // monitor, or the worker's report): its version guard lost,
                    // nothing was stored; the next round sees the new state.
                    continue
                }
            }
            // A worker that reported in the meantime is no longer expired: stop when a round changed nothing.
            if refs.count < 100 || !progressed { return failed }
        }
    }

    /// Deletes finished operations older than the retention, and idempotency
    /// keys older than their TTL. Returns how many operations were deleted.
    @discardableResult
    public func purgeExpired() async throws -> Int {
        let now = self.now
        let cutoff = now.addingTimeInterval(-TimeInterval(settings.retentionSeconds))
        var purged = 0
        while true {
            let refs = try await store.purgeFinished(before: cutoff, limit: 500)
            // Concurrently (with Redis, pipelined on the client's connections),
            // and before the wake-ups: whoever learns of a purge finds the topic gone too.
            await withTaskGroup(of: Void.self) { group in
                for ref in refs { group.addTask { await self.forgetTopics(of: ref) } }
            }
            for ref in refs {
                cache.remove(ref)
                notifier.notify(ref)
            }
            purged += refs.count
            if refs.count < 500 { break }
        }
        let keys = try await store.purgeIdempotencyKeys(olderThan: now.addingTimeInterval(-TimeInterval(settings.idempotencyKeyTTLSeconds)))
        if purged > 0 || keys > 0 {
            logger.info("retention sweep", metadata: ["hub.operations.purged": "\(purged)", "hub.idempotency_keys.purged": "\(keys)"])
        }
        return purged
    }

    /// Forgets a purged operation's topic and directory entry in the hub.
    /// Best effort: the operation is already gone, and what stays behind
    /// (one topic's history) is only memory, bounded by `topic_ttl` if set.
    private func forgetTopics(of ref: OperationRef) async {
        guard let topic = OperationRecord.progressTopic(ref.id) else { return }
        do {
            try await events.forget(OperationRecord.entity(ref.id), tenant: ref.tenant, topics: [topic])
        } catch {
            logger.warning(
                "could not forget a purged operation's topic",
                metadata: ["hub.operation": "\(ref)", "hub.error": "\(error)"])
        }
    }

    /// Tells the hub's entity directory the team of every stored operation
    /// (and its target), so team-scoped subscriptions work after a restart.
    public func restoreEntityDirectory() async throws {
        var cursor: OperationRef?
        while true {
            let page = try await store.scan(after: cursor, limit: 500)
            for op in page { try await recordEntities(op) }
            guard page.count == 500, let last = page.last else { return }
            cursor = last.ref
        }
    }
}
