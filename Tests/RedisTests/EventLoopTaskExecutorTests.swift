import NIOCore
import NIOPosix
import Testing

@testable import Redis

@Suite("EventLoopTaskExecutor")
struct EventLoopTaskExecutorTests {
    @Test("a task that prefers it runs on the loop, also after it suspends, and so do its child tasks")
    func jobsRunOnTheLoop() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()
        let seen = await withTaskExecutorPreference(EventLoopTaskExecutor(loop)) {
            var seen = [loop.inEventLoop]
            await Task.yield()
            seen.append(loop.inEventLoop)
            let child = await withTaskGroup(of: Bool.self) { children in
                children.addTask { loop.inEventLoop }
                return await children.next() ?? false
            }
            seen.append(child)
            return seen
        }
        #expect(seen == [true, true, true])
        #expect(!loop.inEventLoop)
        try await group.shutdownGracefully()
    }
}
