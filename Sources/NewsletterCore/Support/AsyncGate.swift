import Synchronization

/// A lock for async code: one holder at a time, the others suspended (never blocking a thread)
/// and let in first come, first served.
final class AsyncGate: Sendable {
    private struct State {
        var held = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }
    private let state = Mutex(State())

    /// Runs `body` holding the gate. Waiting is not cancellable: holders are short.
    func withLock<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        await acquire()
        defer { release() }
        return try await body()
    }

    private func acquire() async {
        let entered = state.withLock { state in
            if state.held { return false }
            state.held = true
            return true
        }
        if entered { return }
        await withCheckedContinuation { continuation in
            let entered = state.withLock { state in
                if state.held {
                    state.waiters.append(continuation)
                    return false
                }
                state.held = true
                return true
            }
            if entered { continuation.resume() }
        }
    }

    private func release() {
        // The gate passes straight to the next waiter, still held, so nobody can cut in.
        let next = state.withLock { state in
            if state.waiters.isEmpty {
                state.held = false
                return nil as CheckedContinuation<Void, Never>?
            }
            return state.waiters.removeFirst()
        }
        next?.resume()
    }
}
