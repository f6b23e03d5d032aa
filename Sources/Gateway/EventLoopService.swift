import NIOCore
import NIOPosix
import ServiceLifecycle

/// Event loops as a service: placed before the services that run on them, it
/// is stopped after them (services stop in reverse order) and then shuts
/// down a group of its own, also when the node fails to start (`shutdown()`).
///
/// A node has two: the loops of its HTTP and WebSocket connections (which
/// also time its long-polls) and the one thread of its Redis I/O.
///
/// Without `threads` it lends NIO's shared group, one loop per core, which
/// nobody shuts down. With `threads` (`server.event_loop_threads` for the
/// server) the group has exactly that many loops: what an operator wants
/// when several nodes, Redis or other busy processes share the machine's cores.
final class EventLoopService: Service {
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

    /// Stops a group of its own.
    func shutdown() async {
        try? await owned?.shutdownGracefully()
    }
}
