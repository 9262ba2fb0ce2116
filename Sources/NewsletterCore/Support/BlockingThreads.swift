import NIOPosix

/// Threads of our own for work that blocks (SQLite calls, libcurl's SMTP), so that it never
/// holds the Swift concurrency pool's threads (one per core: two on a small machine) nor
/// Dispatch's global queues, which everything else shares: a slow mail server must not stall a
/// signup, and a burst of signups must not stall the event loops.
public final class BlockingThreads: Sendable {
    /// Short store calls from the HTTP routes. More threads than cores: they mostly wait on
    /// SQLite's single writer, not on the CPU.
    public static let store = BlockingThreads(count: 8)
    /// The endpoint's mail queue, which waits on SMTP servers for as long as their timeouts.
    public static let mail = BlockingThreads(count: 1)

    private let pool: NIOThreadPool

    init(count: Int) {
        pool = NIOThreadPool(numberOfThreads: count)
        pool.start()
    }

    /// Runs `work` on one of these threads and returns its result.
    public func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await pool.runIfActive(work)
    }
}
