import Logging
import Synchronization
import Protocol
import Redis

extension RedisEventBus {
    typealias Target = BusSubscriptionTable.Target

    /// Takes a reference on each target and waits until Redis confirmed
    /// them all (at most `subscribeTimeout`). The references stay whether or
    /// not this throws; ``detach(targets:)`` releases them.
    func attach(targets: [Target]) async throws(HubError) {
        let targets = Array(Set(targets))
        guard !targets.isEmpty else { return }
        let (ready, id) = receiver.table.withLock { table in (table.attach(targets), table.makeID()) }
        if ready { return }
        let receiver = self.receiver
        let timeout = configuration.subscribeTimeout
        let result = await withTaskGroup(of: Result<Void, HubError>?.self) { group in
            group.addTask {
                await withTaskCancellationHandler {
                    await withCheckedContinuation { (waiter: CheckedContinuation<Result<Void, HubError>, Never>) in
                        if let now = receiver.table.withLock({ $0.register(id, targets, waiter, cancelled: Task.isCancelled) }) {
                            waiter.resume(returning: now)
                        } else {
                            self.wake()
                        }
                    }
                } onCancel: {
                    receiver.table.withLock { $0.cancelWaiter(id) }?
                        .resume(returning: .failure(.unavailable("cancelled while waiting for Redis to confirm a subscription")))
                }
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first ?? .failure(.unavailable("Redis did not confirm the subscription within \(timeout)"))
        }
        try result.get()
    }

    /// Releases one reference on each target; the last one unsubscribes (in the background, by ``run()``).
    func detach(targets: [Target]) {
        let targets = Array(Set(targets))
        guard !targets.isEmpty else { return }
        if receiver.table.withLock({ $0.detach(targets) }) { wake() }
    }

    /// Returns once every subscription change decided so far has been made
    /// (for tests and diagnostics; returns at once after shutdown).
    public func subscriptionsSettled() async {
        await withCheckedContinuation { (waiter: CheckedContinuation<Void, Never>) in
            if receiver.table.withLock({ $0.addIdleWaiter(waiter) }) {
                wake()
            } else {
                waiter.resume()
            }
        }
    }

    /// The channels and patterns this node's subscriber should hold now
    /// (those with references or waiters), as Redis names.
    public var subscribedNames: (channels: Set<String>, patterns: Set<String>) {
        let targets = receiver.table.withLock { $0.activeTargets }
        var channels = Set<String>()
        var patterns = Set<String>()
        for target in targets {
            switch target {
            case .exact(let key): channels.insert(keys.channel(key))
            case .pattern(let key): patterns.insert(keys.pattern(key))
            case .observer(let topic): patterns.insert(keys.observerPattern(topic))
            }
        }
        return (channels, patterns)
    }

    /// Makes the decided changes one batch at a time, until there are none.
    func pump() async {
        while let batch = receiver.table.withLock({ $0.nextBatch() }) {
            switch batch {
            case .subscribe(let targets): await subscribe(targets)
            case .unsubscribe(let targets): await unsubscribe(targets)
            }
        }
        for waiter in receiver.table.withLock({ $0.takeIdleWaiters() }) { waiter.resume() }
    }

    private func subscribe(_ targets: [Target]) async {
        let channels = targets.filter(\.isChannel)
        let patterns = targets.filter { !$0.isChannel }
        if !channels.isEmpty {
            var failure: HubError?
            var parked = false
            do {
                try await subscriber.subscribe(channels.map(name))
            } catch {
                failure = .redis(error, while: "subscribing")
                parked = Self.waitsForReconnect(error)
            }
            let (resumed, needSync) = receiver.table.withLock { $0.subscribed(channels, error: failure, parked: parked) }
            for (waiter, result) in resumed { waiter.resume(returning: result) }
            if !needSync.isEmpty { await sync(needSync) }
        }
        if !patterns.isEmpty {
            var failure: HubError?
            var parked = false
            do {
                try await subscriber.psubscribe(patterns.map(name))
            } catch {
                failure = .redis(error, while: "subscribing")
                parked = Self.waitsForReconnect(error)
            }
            let (resumed, _) = receiver.table.withLock { $0.subscribed(patterns, error: failure, parked: parked) }
            for (waiter, result) in resumed { waiter.resume(returning: result) }
        }
    }

    /// Whether a failed (p)subscribe will be confirmed by the subscriber's
    /// reconnect: it keeps every requested name in its set and subscribes
    /// them all again, then reports `.connected`/`.resubscribed`.
    static func waitsForReconnect(_ error: RedisError) -> Bool {
        error.code == .notConnected || error.code == .connectionClosed || error.code == .connectionFailed
    }

    private func unsubscribe(_ targets: [Target]) async {
        let channels = targets.filter(\.isChannel).map(name)
        let patterns = targets.filter { !$0.isChannel }.map(name)
        // Whatever the outcome, the names are out of the subscriber's set:
        // it does not subscribe them again after a reconnect.
        if !channels.isEmpty { try? await subscriber.unsubscribe(channels) }
        if !patterns.isEmpty { try? await subscriber.punsubscribe(patterns) }
        receiver.table.withLock { $0.unsubscribed(targets) }
    }

    /// Publishes sync markers for newly confirmed topics: their cursors
    /// start where the markers say (see ``RedisBusScripts/sync``). Without a
    /// marker, a topic that had no event yet cannot be recovered after a
    /// reconnect (its sessions are closed instead).
    private func sync(_ topics: [TopicKey]) async {
        do {
            try await store.sync(topics)
        } catch {
            logger.debug("could not publish sync markers", metadata: ["hub.error": "\(error)"])
        }
    }

    private func name(_ target: Target) -> String {
        switch target {
        case .exact(let key): keys.channel(key)
        case .pattern(let key): keys.pattern(key)
        case .observer(let topic): keys.observerPattern(topic)
        }
    }
}
