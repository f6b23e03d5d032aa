import Foundation
import HubTesting
@testable import Operations
import Protocol
import Redis
import Testing

/// Several hub nodes on one Redis: a waiter on one node wakes when another
/// node changes the operation (through the change channel, never by
/// polling: the nodes' clocks are manual and never move while they wait),
/// and the background services of every node may run at once.
@Suite("Redis operation change listener and multi-node services", .timeLimit(.minutes(2)))
struct RedisOperationChangeListenerTests {
    @Test func aLongPollOnOneNodeWakesWhenAnotherNodeChangesTheOperation() async throws {
        try await withRedisNodes(2) { server, nodes in
            let (a, b) = (nodes[0], nodes[1])
            try await withChangeListener(server, a) { _ in
                let op = try await b.service.create(Fixtures.newDeploy(), tenant: "acme", createdBy: "alice").operation
                let waiter = Task { try await a.service.waitForChange(op.ref, from: op.version, seconds: 30) }
                defer { waiter.cancel() }
                // The waiter has read version 1 and sleeps until its deadline (which never comes).
                await a.clock.waitForSleepers(1)
                let changed = try await b.service.update(op.ref, OperationUpdate(status: .inProgress))
                let woke = try await withTimeout(10, "node A's long-poll to answer") { try await waiter.value }
                #expect(woke == changed)
                #expect(a.service.notifier.ticketCount == 0)
                #expect(a.clock.sleeperCount == 0)
            }
        }
    }

    @Test func aLogFollowerOnOneNodeGetsLinesAppendedOnAnother() async throws {
        try await withRedisNodes(2) { server, nodes in
            let (a, b) = (nodes[0], nodes[1])
            try await withChangeListener(server, a) { _ in
                let op = try await b.service.create(Fixtures.newDeploy(), tenant: "acme", createdBy: "alice").operation
                _ = try await b.service.update(op.ref, OperationUpdate(status: .inProgress))
                let deadline = a.clock.now().addingTimeInterval(60)
                let follower = Task { try await a.service.nextLogs(op.ref, after: 0, limit: 10, until: deadline) }
                defer { follower.cancel() }
                await a.clock.waitForSleepers(1)
                _ = try await b.service.appendLogs(op.ref, ["built on node B"])
                guard case .lines(let page) = try await withTimeout(10, "node A's follower to get the line", { try await follower.value }) else {
                    Issue.record("expected lines")
                    return
                }
                #expect(page.lines.map(\.text) == ["built on node B"])
                let end = Task { try await a.service.nextLogs(op.ref, after: 1, limit: 10, until: deadline) }
                defer { end.cancel() }
                await a.clock.waitForSleepers(1)
                _ = try await b.service.update(op.ref, OperationUpdate(status: .succeeded))
                guard case .finished(let finished) = try await withTimeout(10, "node A's follower to end", { try await end.value }) else {
                    Issue.record("expected the end")
                    return
                }
                #expect(finished.status == .succeeded)
            }
        }
    }

    @Test func aDeletionOnAnotherNodeEndsTheLongPollWithNotFound() async throws {
        try await withRedisNodes(2) { server, nodes in
            let (a, b) = (nodes[0], nodes[1])
            try await withChangeListener(server, a) { _ in
                let op = try await b.service.create(Fixtures.newDeploy(), tenant: "acme", createdBy: "alice").operation
                let cancelled = try await b.service.cancel(op.ref, requestedBy: "alice")
                let waiter = Task { try await a.service.waitForChange(op.ref, from: cancelled.version, seconds: 30) }
                defer { waiter.cancel() }
                await a.clock.waitForSleepers(1)
                try await b.service.delete(op.ref)
                do {
                    _ = try await withTimeout(10, "node A's long-poll to end") { try await waiter.value }
                    Issue.record("the deleted operation was still there")
                } catch let error as OperationError {
                    #expect(error.code == .notFound)
                }
            }
        }
    }

    @Test func aChangeMissedWhileTheSubscriptionWasDownStillWakesTheWaiter() async throws {
        try await withRedisNodes(2) { server, nodes in
            let (a, b) = (nodes[0], nodes[1])
            // A slow reconnect, so the change below happens while node A is not subscribed.
            let backoff = RedisBackoff(base: .seconds(1), maximum: .seconds(1), jitter: 0)
            try await withChangeListener(server, a, backoff: backoff) { listener in
                let op = try await b.service.create(Fixtures.newDeploy(), tenant: "acme", createdBy: "alice").operation
                let waiter = Task { try await a.service.waitForChange(op.ref, from: op.version, seconds: 30) }
                defer { waiter.cancel() }
                await a.clock.waitForSleepers(1)
                _ = try await b.client.send(["CLIENT", "KILL", "TYPE", "pubsub"])
                let subscribers = try await b.client.send(["PUBSUB", "NUMSUB", .string(listener.channel)])
                #expect(subscribers.array?.last?.integer == 0, "the change below is published to nobody")
                let changed = try await b.service.update(op.ref, OperationUpdate(status: .inProgress))
                // Resubscribed, node A wakes every waiter; this one re-reads and finds the change.
                let woke = try await withTimeout(10, "node A's long-poll to answer after resubscribing") { try await waiter.value }
                #expect(woke == changed)
                try await withTimeout(10, "the listener to be back") { await listener.waitUntilListening() }
            }
        }
    }

    @Test func aListenerStartedWhileRedisIsDownListensOnceItIsBack() async throws {
        try await withRedisNodes(2) { server, nodes in
            let (a, b) = (nodes[0], nodes[1])
            try await server.stop()
            // Each node's pool notices the loss first: otherwise a command
            // right after the restart could go to a connection whose close
            // is not processed yet and fail with connectionClosed (the
            // contract of RedisClient), which is not what this test is about.
            for node in nodes {
                try await withTimeout(10, "a node to notice that Redis is gone") {
                    while node.client.connectedCount > 0 { await Task.yield() }
                }
            }
            let listener = try RedisOperationChangeListener(
                store: a.store, operations: a.service, configuration: try server.configuration(), healthCheckInterval: nil,
                logger: Fixtures.logger)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await listener.run() }
                defer { group.cancelAll() }
                #expect(!listener.isListening)
                try await server.restart()
                try await withTimeout(10, "the listener to subscribe once Redis is back") { await listener.waitUntilListening() }
                for node in nodes {
                    try await withTimeout(10, "a node to reconnect") { try await node.client.waitForConnection() }
                }
                let op = try await b.service.create(Fixtures.newDeploy(), tenant: "acme", createdBy: "alice").operation
                let waiter = Task { try await a.service.waitForChange(op.ref, from: op.version, seconds: 30) }
                defer { waiter.cancel() }
                await a.clock.waitForSleepers(1)
                let changed = try await b.service.update(op.ref, OperationUpdate(status: .inProgress))
                #expect(try await withTimeout(10, "node A's long-poll to answer") { try await waiter.value } == changed)
            }
        }
    }

    @Test func twoHeartbeatMonitorsFailASilentOperationExactlyOnceAndPublishItOnce() async throws {
        let rendezvous = Rendezvous(parties: 2)
        try await withRedisNodes(2, wrap: { HookedStore($0, beforeWriteLock: { await rendezvous.meet($0) }) }) { _, nodes in
            // Running operations whose worker last reported at t0 (timeout 30 s).
            let ops = (0..<5).map { Fixtures.operation(id: "op_silent\($0)", status: .inProgress) }
            for op in ops { try await nodes[0].store.insert(op, completing: nil) }
            for node in nodes { node.clock.advance(by: 31) }
            // Both nodes' monitors run at once and reach every timeout together
            // (the rendezvous, before the write lock): the race is certain. The
            // lock lets one decide and store; the other then reads the failed
            // operation and does nothing, so nothing is published twice.
            let failed = try await withThrowingTaskGroup(of: Int.self) { group in
                for node in nodes { group.addTask { try await node.service.expireHeartbeats() } }
                return try await group.reduce(0, +)
            }
            #expect(failed == ops.count)
            for op in ops {
                #expect(rendezvous.outcomes[op.ref]?.alone ?? 0 == 0, "\(op.id): both monitors met")
                let stored = try #require(try await nodes[1].store.operation(op.ref))
                #expect(stored.status == .failed)
                #expect(stored.error?.code == OperationFailure.workerTimeoutCode)
                #expect(stored.version == op.version + 1)
                let topic = "operation:\(op.id):progress"
                let published = nodes.flatMap { $0.sink.events(on: topic) }
                #expect(published.filter { $0.event == "status_changed" }.count == 1, "\(op.id): one status change, from one node")
                #expect(published.filter { $0.event == "completed" }.count == 1, "\(op.id)")
            }
            #expect(try await nodes[0].store.expiredHeartbeats(at: nodes[0].clock.now(), limit: 10) == [])
            #expect(try await nodes[0].store.consistencyProblems(logCap: 10) == [])
            // A later round on either node changes nothing.
            #expect(try await nodes[1].service.expireHeartbeats() == 0)
        }
    }

    @Test func twoRetentionSweepsDeleteEachFinishedOperationOnce() async throws {
        try await withRedisNodes(2) { _, nodes in
            let finished = (0..<30).map {
                Fixtures.operation(id: "op_done\($0)", status: .succeeded, createdAt: Fixtures.t0.addingTimeInterval(TimeInterval($0)))
            }
            let running = (0..<3).map { Fixtures.operation(id: "op_busy\($0)", status: .inProgress) }
            for op in finished + running { try await nodes[0].store.insert(op, completing: nil) }
            let cutoff = Fixtures.t0.addingTimeInterval(3600)
            let purged = try await withThrowingTaskGroup(of: [OperationRef].self) { group in
                for node in nodes {
                    group.addTask {
                        var mine: [OperationRef] = []
                        while true {
                            let batch = try await node.store.purgeFinished(before: cutoff, limit: 4)
                            mine += batch
                            if batch.isEmpty { return mine }
                        }
                    }
                }
                return try await group.reduce(into: [OperationRef]()) { $0 += $1 }
            }
            #expect(purged.count == finished.count)
            #expect(Set(purged) == Set(finished.map(\.ref)))
            #expect(try await nodes[1].store.scan(after: nil, limit: 100).map(\.id) == running.map(\.id))
            #expect(try await nodes[1].store.consistencyProblems(logCap: 10) == [])

            // Through the services, at once on both nodes: each operation is purged by one of them.
            for op in finished { try await nodes[1].store.insert(op, completing: nil) }
            for node in nodes { node.clock.advance(by: 8 * 86_400) }
            let counts = try await withThrowingTaskGroup(of: Int.self) { group in
                for node in nodes { group.addTask { try await node.service.purgeExpired() } }
                return try await group.reduce(0, +)
            }
            #expect(counts == finished.count)
            #expect(try await nodes[0].store.scan(after: nil, limit: 100).count == running.count)
        }
    }
}
