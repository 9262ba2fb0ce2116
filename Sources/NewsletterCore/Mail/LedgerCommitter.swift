import Foundation
import Synchronization

/// Records the workers' delivery outcomes in the ledger in groups, on a thread of its own: one
/// transaction for whatever the connections have to record at that moment, so they do not take
/// turns at the database writer once per message.
///
/// What a crash can duplicate stays what it was with one commit per message: a worker hands
/// over a message's outcome and encodes its next message meanwhile, but does not transmit that
/// next message until the outcome is committed (`OutcomePipeline.awaitCommitted`). So each
/// connection has at most one message that the server may have taken and the ledger does not
/// show as sent, as before.
final class LedgerCommitter<Ledger: DeliveryLedger>: Sendable {
    private struct Waiting: Sendable {
        var record: DeliveryRecord
        var done: DispatchSemaphore
    }

    private struct State: Sendable {
        var waiting: [Waiting] = []
        var closed = false
        var failure: String?
        var groups = 0
    }

    private let state = Mutex(State())
    private let wake = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    let ledger: Ledger
    let week: IssueWeek
    let time: any TimeSource

    init(ledger: Ledger, week: IssueWeek, time: any TimeSource) {
        self.ledger = ledger
        self.week = week
        self.time = time
        // A thread, not a dispatch queue: Dispatch's global threads are few on two cores.
        Thread { [self] in run() }.start()
    }

    /// Why a group could not be recorded (after retries); nil while all went in.
    var failure: String? { state.withLock { $0.failure } }
    /// Transactions committed so far (for the log).
    var groups: Int { state.withLock { $0.groups } }

    func submit(_ record: DeliveryRecord, done: DispatchSemaphore) {
        state.withLock { $0.waiting.append(Waiting(record: record, done: done)) }
        wake.signal()
    }

    /// Records what is still waiting and stops the thread; call once, after the workers.
    func close() {
        state.withLock { $0.closed = true }
        wake.signal()
        finished.wait()
    }

    private func run() {
        while true {
            wake.wait()
            let (group, closed) = state.withLock { state in
                defer { state.waiting.removeAll(keepingCapacity: true) }
                return (state.waiting, state.closed)
            }
            if !group.isEmpty { commit(group) }
            if closed {
                let rest = state.withLock { state in
                    defer { state.waiting.removeAll() }
                    return state.waiting
                }
                if !rest.isEmpty { commit(rest) }
                finished.signal()
                return
            }
        }
    }

    /// The server accepted these messages: recording that must not be lost to a passing
    /// database error, or they would go out again.
    private func commit(_ group: [Waiting]) {
        let backoff = Backoff(base: .milliseconds(50), cap: .milliseconds(800))
        var lastError: (any Error)?
        for attempt in 1...5 {
            do {
                try ledger.recordDeliveries(week, group.map(\.record))
                lastError = nil
                break
            } catch {
                lastError = error
                time.sleep(for: backoff.delay(beforeRetry: attempt))
            }
        }
        state.withLock { state in
            if let lastError, state.failure == nil { state.failure = "\(lastError)" }
            state.groups += 1
        }
        for waiting in group { waiting.done.signal() }
    }
}

/// One worker's side of the committer: at most one outcome in the committer at a time.
struct OutcomePipeline<Ledger: DeliveryLedger> {
    let committer: LedgerCommitter<Ledger>
    private let done = DispatchSemaphore(value: 0)
    private var outstanding = false

    init(committer: LedgerCommitter<Ledger>) {
        self.committer = committer
    }

    mutating func submit(_ record: DeliveryRecord) {
        precondition(!outstanding, "a worker hands over its next outcome only after the last one is recorded")
        committer.submit(record, done: done)
        outstanding = true
    }

    /// Waits until the last outcome handed over is in the ledger.
    mutating func awaitCommitted() throws(LedgerWriteFailed) {
        guard outstanding else { return }
        done.wait()
        outstanding = false
        if let failure = committer.failure { throw LedgerWriteFailed(underlying: failure) }
    }
}
