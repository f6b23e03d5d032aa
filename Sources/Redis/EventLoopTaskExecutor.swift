import NIOCore

/// A task executor that runs every job of a task on one event loop.
///
/// A task that consumes a channel's inbound stream (an `NIOAsyncChannel`)
/// normally resumes on the cooperative pool: each value read on the loop
/// wakes a pool thread to handle it. Run with this executor as its
/// preference (`withTaskExecutorPreference`), the consumer resumes on the
/// loop that produced the value, in the same pass of that loop, with no
/// thread woken and nothing handed across cores.
///
/// Only for work that never blocks the thread: everything else the loop
/// serves waits while a job runs. Jobs enqueued after the loop has shut down
/// are not run, so a task that prefers this executor must end before its
/// loop does.
final class EventLoopTaskExecutor: TaskExecutor {
    let loop: any EventLoop

    init(_ loop: any EventLoop) {
        self.loop = loop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        loop.execute { job.runSynchronously(on: executor) }
    }
}
