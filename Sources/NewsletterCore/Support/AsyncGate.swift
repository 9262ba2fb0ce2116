import Synchronization

/// A lock for async code: `admitting` holders at a time (one by default), the others suspended
/// (never blocking a thread) and let in first come, first served.
final class AsyncGate: Sendable {
    private struct State {
        var free: Int
        var waiters: [CheckedContinuation<Void, Never>] = []
    }
    private let state: Mutex<State>

    init(admitting holders: Int = 1) {
        precondition(holders > 0, "a gate that admits nobody")
        state = Mutex(State(free: holders))
    }

    /// Runs `body` holding the gate. Waiting is not cancellable: holders are short.
    func withLock<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        await acquire()
        defer { release() }
        return try await body()
    }

    private func acquire() async {
        let entered = state.withLock { state in
            if state.free == 0 { return false }
            state.free -= 1
            return true
        }
        if entered { return }
        await withCheckedContinuation { continuation in
            let entered = state.withLock { state in
                if state.free == 0 {
                    state.waiters.append(continuation)
                    return false
                }
                state.free -= 1
                return true
            }
            if entered { continuation.resume() }
        }
    }

    private func release() {
        // A place passes straight to the next waiter, still taken, so nobody can cut in.
        let next = state.withLock { state in
            if state.waiters.isEmpty {
                state.free += 1
                return nil as CheckedContinuation<Void, Never>?
            }
            return state.waiters.removeFirst()
        }
        next?.resume()
    }
}
