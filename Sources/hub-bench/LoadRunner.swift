import NIOCore
import NIOPosix

/// An event loop of the closed-loop scenarios and its state.
struct LoadSlot: Sendable {
    let loop: any EventLoop
    let state: NIOLoopBound<LoadLoop>
}

/// The shared machinery of `operations crud` and `operations get`: connections spread over the
/// bench's event loops, one worker per connection, phases with a measured window, per-loop
/// figures merged at the end.
struct LoadRunner: Sendable {
    let slots: [LoadSlot]

    static func make(_ group: MultiThreadedEventLoopGroup) async throws -> LoadRunner {
        var slots: [LoadSlot] = []
        for loop in group.makeIterator() {
            let state = try await loop.submit { NIOLoopBound(LoadLoop(loop: loop), eventLoop: loop) }.get()
            slots.append(LoadSlot(loop: loop, state: state))
        }
        return LoadRunner(slots: slots)
    }

    /// Opens `count` connections (connection i on loop i % loops).
    func open(count: Int, concurrency: Int, target: ConnectTarget) async -> ConnectOutcome {
        let slots = self.slots
        return await HTTPConnector.open(count: count, concurrency: concurrency, target: target, loops: slots.map(\.loop)) { index, channel in
            let connection = KeepAliveConnection(index: index)
            try channel.pipeline.syncOperations.addHandler(connection)
            slots[index % slots.count].state.value.connections.append(connection)
        }
    }

    /// Gives every open connection its worker (made on the connection's loop).
    func attach(_ make: @escaping @Sendable (KeepAliveConnection, LoadLoop) -> any LoadWorker) async throws {
        for slot in self.slots {
            try await slot.loop.submit {
                let load = slot.state.value
                load.workers = load.connections.filter(\.isActive).map { make($0, load) }
            }.get()
        }
    }

    /// One phase: workers run `warmup` s unmeasured, then `duration` s measured (answers to
    /// `kinds` recorded), then stop; returns when the last answer is in. The two waits pace the
    /// phase: they are its length, not a wait for an event.
    func phase(
        read: RequestKind?, kinds: [RequestKind], warmup: Double, duration: Double, hubPids: [Int32]
    ) async throws -> CPUFigure {
        for slot in self.slots {
            try await slot.loop.submit {
                if let read { slot.state.value.phase = read }
                slot.state.value.start()
            }.get()
        }
        if warmup > 0 { try await Task.sleep(for: .milliseconds(Int64(warmup * 1000))) }
        let hubStart = ProcessMemory.cpuMicros(hubPids)
        let switchesStart = ProcessMemory.contextSwitches(hubPids)
        let machineStart = ProcessMemory.machineBusyMicros()
        let benchStart = SystemSupport.selfCPUMicros()
        let start = SystemSupport.monotonicNanos()
        for slot in self.slots { try await slot.loop.submit { slot.state.value.beginWindow(kinds: kinds) }.get() }
        try await Task.sleep(for: .milliseconds(Int64(duration * 1000)))
        for slot in self.slots { try await slot.loop.submit { slot.state.value.endWindow() }.get() }
        let seconds = Double(SystemSupport.monotonicNanos() &- start) / 1e9
        let hubEnd = ProcessMemory.cpuMicros(hubPids)
        let switchesEnd = ProcessMemory.contextSwitches(hubPids)
        let machineEnd = ProcessMemory.machineBusyMicros()
        let benchEnd = SystemSupport.selfCPUMicros()
        for slot in self.slots { try await slot.loop.flatSubmit { slot.state.value.stop() }.get() }
        var hubMicros: UInt64?
        if let a = hubStart, let b = hubEnd { hubMicros = b &- a }
        var switches: UInt64?
        if let a = switchesStart, let b = switchesEnd { switches = b.since(a) }
        var machine: UInt64?
        if let a = machineStart, let b = machineEnd { machine = b &- a }
        return CPUFigure(
            label: read?.name ?? "all", seconds: seconds, hubMicros: hubMicros, benchMicros: benchEnd &- benchStart,
            hubContextSwitches: switches, machineMicros: machine)
    }

    func summary() async throws -> LoadSummary {
        var total = LoadSummary()
        for slot in self.slots { total.merge(try await slot.loop.submit { slot.state.value.summary() }.get()) }
        return total
    }

    func close() async throws {
        for slot in self.slots { try await slot.loop.flatSubmit { slot.state.value.closeAll() }.get() }
    }
}
