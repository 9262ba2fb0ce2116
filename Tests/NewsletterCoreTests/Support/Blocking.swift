import Foundation

/// Runs blocking test work (a subprocess, a model call) on a thread of its own and awaits it. A
/// synchronous test that blocks holds one of the Swift concurrency pool's threads (one per core)
/// for as long as it waits, and every async test beside it (the routes' tests) waits as long.
enum Blocking {
    static func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result { try work() }) }.start()
        }
    }
}
