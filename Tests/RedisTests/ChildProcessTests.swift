import Foundation
import HubTesting
import Testing

/// The process launcher behind `RedisServer` (and the multi-node tests).
@Suite("ChildProcess")
struct ChildProcessTests {
    @Test func outputAndExitStatusOfManyConcurrentChildren() async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<40 {
                group.addTask {
                    let child = try ChildProcess.spawn("/bin/sh", arguments: ["-c", "echo child-\(index); exit 3"])
                    let status = try await withTimeout(10, "child \(index) to exit") { await child.waitForExit() }
                    #expect(status == 3 << 8)
                    #expect(child.output == "child-\(index)\n")
                }
            }
            try await group.waitForAll()
        }
    }

    @Test func waitingForOutputThatNeverComesFailsAtExit() async throws {
        let child = try ChildProcess.spawn("/bin/sh", arguments: ["-c", "echo nope"])
        await #expect(throws: ChildProcess.ExitedError.self) {
            try await withTimeout(10, "the exit") { try await child.waitForOutput(containing: "ready") }
        }
    }

    @Test func sigtermReachesTheChild() async throws {
        let child = try ChildProcess.spawn("/bin/sh", arguments: ["-c", "echo up; exec sleep 60"])
        try await withTimeout(10, "the child to start") { try await child.waitForOutput(containing: "up") }
        child.send(SIGTERM)
        let status = try await withTimeout(10, "the child to exit") { await child.waitForExit() }
        #expect(status & 0x7F == SIGTERM)
    }
}
