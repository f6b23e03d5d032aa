import NIOCore
import NIOPosix

/// Event loop groups that live as long as one scenario.
enum EventLoopGroups {
    /// Runs `body` with a group of `threads` loops, then shuts the group down
    /// (also when `body` throws; a failed shutdown then does not hide its error).
    static func with<T>(threads: Int, _ body: (MultiThreadedEventLoopGroup) async throws -> T) async throws -> T {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        let result: T
        do {
            result = try await body(group)
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
        try await group.shutdownGracefully()
        return result
    }
}
