import Foundation
import Synchronization

/// Records the workers' delivery outcomes in the ledger in groups: one transaction for whatever
/// the connections have handed over by then, so they do not take turns at the database writer
/// once per message.
///
/// One committing task (`drain`) takes everything handed over since its last commit and records
/// it in one transaction; outcomes that arrive while it commits go in its next one together. A
/// worker hands over its message's outcome (`submit`), encodes its next message, and then awaits
/// the outcome's commit: a continuation resumed once the group holding it is in the ledger (or
/// could not be put there).
///
/// What a crash can duplicate stays what it was with one commit per message: a worker does not
/// transmit its next message until its last outcome is committed. So each connection has at most
/// one message that the server may have taken and the ledger does not show as sent.
final class LedgerCommitter<Ledger: DeliveryLedger>: Sendable {
    private struct Waiting: Sendable {
        var record: DeliveryRecord
        var answer: CommitAnswer
    }

    private struct State: Sendable {
        var waiting: [Waiting] = []
        /// The committing task, suspended until something is handed over or the send ends.
        var idle: CheckedContinuation<Void, Never>?
        var closed = false
    }

    private let state = Mutex(State())
    let ledger: Ledger
    let week: IssueWeek
    let time: any TimeSource

    init(ledger: Ledger, week: IssueWeek, time: any TimeSource) {
        self.ledger = ledger
        self.week = week
        self.time = time
    }

    func submit(_ record: DeliveryRecord, answer: CommitAnswer) {
        answer.handedOver()
        let idle = state.withLock { state in
            state.waiting.append(Waiting(record: record, answer: answer))
            return state.idle.take()
        }
        idle?.resume()
    }

    /// No more outcomes come: `drain` returns once it has committed those handed over.
    func close() {
        let idle = state.withLock { state in
            state.closed = true
            return state.idle.take()
        }
        idle?.resume()
    }

    /// Commits what the workers hand over, a group at a time, until `close`.
    func drain() async {
        await ledger.withConnectionHeld {
            while let group = await nextGroup() {
                let failure = await commit(group)
                for waiting in group { waiting.answer.committed(failure) }
            }
        }
    }

    /// Everything handed over since the last commit; nil once closed with nothing left.
    private func nextGroup() async -> [Waiting]? {
        while true {
            let (group, closed): ([Waiting]?, Bool) = state.withLock { state in
                guard !state.waiting.isEmpty else { return (nil, state.closed) }
                defer { state.waiting.removeAll(keepingCapacity: true) }
                return (state.waiting, false)
            }
            if let group { return group }
            if closed { return nil }
            await withCheckedContinuation { (idle: CheckedContinuation<Void, Never>) in
                let wakeNow = state.withLock { state in
                    guard state.waiting.isEmpty, !state.closed else { return true }
                    state.idle = idle
                    return false
                }
                if wakeNow { idle.resume() }
            }
        }
    }

    static var attempts: Int { 5 }

    /// The server accepted these messages: recording that must not be lost to a passing
    /// database error, or they would go out again. Returns why it could not be, after retries.
    private func commit(_ group: [Waiting]) async -> String? {
        let backoff = Backoff(base: .milliseconds(50), cap: .milliseconds(800))
        var lastError: (any Error)?
        for attempt in 1...Self.attempts {
            do {
                try await ledger.recordDeliveries(week, group.map(\.record))
                return nil
            } catch {
                lastError = error
                // On the committing task's own thread: it holds no other work up.
                if attempt < Self.attempts { time.sleep(for: backoff.delay(beforeRetry: attempt)) }
            }
        }
        return lastError.map { "\($0)" }
    }
}

/// Where one worker hears that its record is in (or why it is not).
final class CommitAnswer: Sendable {
    private enum State {
        case handedOver
        case awaited(CheckedContinuation<String?, Never>)
        /// nil: committed.
        case committed(String?)
    }

    private let state = Mutex(State.committed(nil))

    func handedOver() {
        state.withLock { $0 = .handedOver }
    }

    func committed(_ failure: String?) {
        let waiter: CheckedContinuation<String?, Never>? = state.withLock { state in
            defer { state = .committed(failure) }
            if case .awaited(let waiter) = state { return waiter }
            return nil
        }
        waiter?.resume(returning: failure)
    }

    /// Returns once the record handed over is committed (nil) or could not be (why).
    func value() async -> String? {
        await withCheckedContinuation { waiter in
            let answered: String?? = state.withLock { state in
                if case .committed(let failure) = state { return .some(failure) }
                state = .awaited(waiter)
                return .none
            }
            if case .some(let failure) = answered { waiter.resume(returning: failure) }
        }
    }
}

/// One worker's side of the committer: at most one outcome in the committer at a time.
struct OutcomePipeline<Ledger: DeliveryLedger> {
    let committer: LedgerCommitter<Ledger>
    private let answer = CommitAnswer()
    /// What to do once the outstanding outcome is recorded; nil when none is outstanding.
    private var whenRecorded: (() -> Void)?

    init(committer: LedgerCommitter<Ledger>) {
        self.committer = committer
    }

    /// Hands `record` to the committer; `then` runs once it is in the ledger (never if it could
    /// not be recorded).
    mutating func submit(_ record: DeliveryRecord, then: @escaping () -> Void = {}) {
        precondition(whenRecorded == nil, "a worker hands over its next outcome only after the last one is recorded")
        committer.submit(record, answer: answer)
        whenRecorded = then
    }

    /// Waits until the last outcome handed over is in the ledger.
    mutating func awaitCommitted() async throws(LedgerWriteFailed) {
        guard let recorded = whenRecorded else { return }
        whenRecorded = nil
        if let failure = await answer.value() { throw LedgerWriteFailed(underlying: failure) }
        recorded()
    }
}
