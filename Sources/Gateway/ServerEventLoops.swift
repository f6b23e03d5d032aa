import NIOCore
import NIOPosix
import ServiceLifecycle

/// The event loops that serve a node's HTTP and WebSocket connections (and
/// time its long-polls), as a service: started first and stopped last
/// (services stop in reverse order), it shuts down a group of its own once
/// the server and everything that runs on it have stopped.
///
/// Without `threads` it lends NIO's shared group, one loop per core, which
/// nobody shuts down. With `threads` (`server.event_loop_threads`) the node
/// gets a group of exactly that many loops: what an operator wants when
/// several nodes, Redis or other busy processes share the machine's cores.
final class ServerEventLoops: Service {
    let group: any EventLoopGroup
    private let owned: MultiThreadedEventLoopGroup?

    init(threads: Int?) {
        if let threads {
            let owned = MultiThreadedEventLoopGroup(numberOfThreads: threads)
            self.owned = owned
            self.group = owned
        } else {
            self.owned = nil
            self.group = MultiThreadedEventLoopGroup.singleton
        }
    }

    /// Loops in the group.
    var count: Int { group.makeIterator().reduce(0) { count, _ in count + 1 } }

    func run() async throws {
        try? await gracefulShutdown()
        await shutdown()
    }

    /// Stops a group of its own (also when the node fails to start).
    func shutdown() async {
        try? await owned?.shutdownGracefully()
    }
}
