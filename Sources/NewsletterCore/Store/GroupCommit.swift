import Foundation
import GRDB
import Synchronization

/// Write transactions of concurrent callers committed together (group commit).
///
/// Each caller's work runs in a savepoint of its own, so one caller's error rolls back only its
/// own changes; the group is one transaction, committed once for all of them, and each caller
/// returns only after that commit: the same durability as a transaction of its own. The first
/// caller to find nobody committing leads: it takes every caller waiting, commits them, and hands
/// the lead to the first of those who arrived meanwhile. So nobody waits on others' writes for
/// longer than the one commit under way when it arrived.
final class GroupCommit: Sendable {
    private final class Job: Sendable {
        let run: @Sendable (Database) -> Void
        let abandon: @Sendable (any Error) -> Void
        let wake = DispatchSemaphore(value: 0)
        /// Set by the leader that woke this job without running it: it leads the next group.
        let promoted = Mutex(false)

        init(run: @escaping @Sendable (Database) -> Void, abandon: @escaping @Sendable (any Error) -> Void) {
            self.run = run
            self.abandon = abandon
        }
    }

    private struct State: Sendable {
        var queue: [Job] = []
        var leading = false
        var groups = 0
        var jobs = 0
    }

    private let writer: any DatabaseWriter
    private let state = Mutex(State())

    init(writer: any DatabaseWriter) {
        self.writer = writer
    }

    /// Transactions committed and work items they held, and callers waiting for the next group.
    var counts: (groups: Int, jobs: Int, waiting: Int) {
        state.withLock { ($0.groups, $0.jobs, $0.queue.count) }
    }

    func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) throws -> T {
        let result = Locked<Result<T, any Error>?>(nil)
        let job = Job(
            run: { db in
                let outcome = Result<T, any Error> {
                    var value: T?
                    try db.inSavepoint {
                        value = try body(db)
                        return .commit
                    }
                    return value!
                }
                result.withLock { $0 = outcome }
            },
            abandon: { error in result.withLock { $0 = .failure(error) } })
        let leads = state.withLock { state in
            state.queue.append(job)
            if state.leading { return false }
            state.leading = true
            return true
        }
        if !leads {
            job.wake.wait()
        }
        if leads || job.promoted.withLock({ $0 }) {
            lead()
        }
        return try result.withLock { $0! }.get()
    }

    /// A value behind a lock, shareable by closures (a `Mutex` itself cannot be captured).
    private final class Locked<Value: Sendable>: Sendable {
        private let mutex: Mutex<Value>
        init(_ value: Value) { mutex = Mutex(value) }
        func withLock<R: Sendable>(_ body: (inout Value) -> R) -> R { mutex.withLock { body(&$0) } }
    }

    /// Commits everyone queued, then passes the lead on (or lays it down).
    private func lead() {
        let group = state.withLock { state in
            defer { state.queue.removeAll(keepingCapacity: true) }
            return state.queue
        }
        do {
            try writer.write { db in
                for job in group { job.run(db) }
            }
        } catch {
            // The commit itself failed (disk full, busy past the timeout): nobody's work is in.
            for job in group { job.abandon(error) }
        }
        let next = state.withLock { state in
            state.groups += 1
            state.jobs += group.count
            guard let next = state.queue.first else {
                state.leading = false
                return nil as Job?
            }
            return next
        }
        if let next {
            next.promoted.withLock { $0 = true }
            next.wake.signal()
        }
        for job in group where job !== group.first { job.wake.signal() }
    }
}
