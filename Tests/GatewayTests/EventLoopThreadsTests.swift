import Foundation
import HubTesting
import NIOCore
import NIOPosix
import Testing

@testable import Gateway
@testable import Hub

@Suite("Event loop threads")
struct EventLoopThreadsTests {
    @Test("server.event_loop_threads gives the node a group of that many loops, which serves it and stops with it")
    func aGroupOfItsOwn() async throws {
        let thread = try await TestHub.run(configure: { $0.server.eventLoopThreads = 1 }) { hub in
            #expect(hub.server.eventLoopThreads == 1)
            #expect(hub.server.eventLoopGroup !== MultiThreadedEventLoopGroup.singleton)
            let probe = try await connect(hub)
            _ = try await subscribe(probe, ["application:app_1:status"])
            let offset = try await hub.publish("application:app_1:status", data: #"{"status":"running"}"#)
            let event = try await probe.next(type: "event")
            #expect(event["offset"] as? String == offset)
            // The WebSocket's session is served by the node's one loop.
            let loops = hub.server.core.registry.sessions.compactMap { ($0.executor as? DrainBatcher)?.loop }
            #expect(loops.count == 1)
            #expect(loops.first === hub.server.eventLoopGroup.next())
            // The loop's thread, as Linux names it ("<pid>/task/<tid>").
            let thread = try await hub.server.eventLoopGroup.next().submit {
                try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/thread-self")
            }.get()
            #expect(FileManager.default.fileExists(atPath: "/proc/" + thread))
            return thread
        }
        // The node has stopped, and with it the thread of its loop.
        #expect(!FileManager.default.fileExists(atPath: "/proc/" + thread))
    }

    @Test("without the setting the node runs on NIO's shared group, one loop per core, which outlives it")
    func oneLoopPerCoreByDefault() async throws {
        let group = try await TestHub.run { hub in
            #expect(hub.server.eventLoopThreads == System.coreCount)
            #expect(hub.server.eventLoopGroup === MultiThreadedEventLoopGroup.singleton)
            return hub.server.eventLoopGroup
        }
        try await group.next().scheduleTask(in: .zero) {}.futureResult.get()
    }
}
