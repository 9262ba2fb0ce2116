import Foundation

/// Threads of one piece of work, each ended and joined before the work returns.
///
/// A `Thread` that signals a `DispatchGroup` as its last act still holds its closure, and all the
/// closure captured, until the thread has ended. `Mailer.send`'s workers captured the store: the
/// send returned, `newsletter run` exited, and now and then a worker had not yet let go, so the
/// SQLite store was never closed and its write-ahead log stayed behind. Here the closure is gone
/// when `run` returns.
enum JoinedThreads {
    /// Runs `body` on `count` threads at once and returns once every one of them has ended.
    static func run(count: Int, _ body: @escaping @Sendable () -> Void) {
        var threads: [pthread_t] = []
        for _ in 0..<count {
            let work = Unmanaged.passRetained(Work(body)).toOpaque()
            var thread = pthread_t()
            let created = pthread_create(
                &thread, nil,
                { work in
                    // Released before the thread ends, so before the join returns.
                    Unmanaged<Work>.fromOpaque(work!).takeRetainedValue().body()
                    return nil
                }, work)
            if created == 0 {
                threads.append(thread)
            } else {
                // No thread to be had (the process is at its limit): this one does the share.
                Unmanaged<Work>.fromOpaque(work).takeRetainedValue().body()
            }
        }
        for thread in threads { pthread_join(thread, nil) }
    }

    private final class Work: Sendable {
        let body: @Sendable () -> Void

        init(_ body: @escaping @Sendable () -> Void) {
            self.body = body
        }
    }
}
