import Foundation
import Synchronization

/// Records the workers' delivery outcomes in the ledger in groups: one transaction for whatever
/// the connections have to record at that moment, so they do not take turns at the database
/// writer once per message.
///
/// There is no committer thread. A worker hands over its message's outcome (`submit`), encodes
/// its next message, and then waits for the outcome to be recorded (`awaitRecorded`): if no
/// commit is running, the worker itself commits everything handed over so far (its own outcome
/// and the other connections'), and the others find theirs recorded; if one is running, it
/// waits for that one and, if its outcome was not in it, commits next. With one connection
/// that is one transaction per message on the worker's own thread, without waking another
/// thread twice per message; with several, the outcomes that arrive during a commit go in the
/// next one together.
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
        var committing = false
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
        answer.result.withLock { $0 = .waiting }
        state.withLock { $0.waiting.append(Waiting(record: record, answer: answer)) }
    }

    /// Returns once `answer`'s record is committed (nil) or could not be (why).
    func awaitRecorded(_ answer: CommitAnswer) -> String? {
        while true {
            if case .done(let failure) = answer.result.withLock({ $0 }) { return failure }
            let group: [Waiting]? = state.withLock { state in
                guard !state.committing, !state.waiting.isEmpty else { return nil }
                state.committing = true
                defer { state.waiting.removeAll(keepingCapacity: true) }
                return state.waiting
            }
            guard let group else {
                // Another worker's commit is running (and may hold this record): it wakes us.
                answer.wake.wait()
                continue
            }
            let failure = commit(group)
            for waiting in group { waiting.answer.result.withLock { $0 = .done(failure) } }
            let next = state.withLock { state in
                state.committing = false
                return state.waiting.map(\.answer)
            }
            // Those recorded now, and those whose outcomes came in meanwhile: one of them
            // commits next. (A wakeup for a worker not waiting yet only makes it look again.)
            for other in group.map(\.answer) + next where other !== answer { other.wake.signal() }
        }
    }

    static var attempts: Int { 5 }

    /// The server accepted these messages: recording that must not be lost to a passing
    /// database error, or they would go out again. Returns why it could not be, after retries.
    private func commit(_ group: [Waiting]) -> String? {
        let backoff = Backoff(base: .milliseconds(50), cap: .milliseconds(800))
        var lastError: (any Error)?
        for attempt in 1...Self.attempts {
            do {
                try ledger.recordDeliveries(week, group.map(\.record))
                return nil
            } catch {
                lastError = error
                if attempt < Self.attempts { time.sleep(for: backoff.delay(beforeRetry: attempt)) }
            }
        }
        return lastError.map { "\($0)" }
    }
}

/// Where one worker hears that its record is in (or why it is not).
final class CommitAnswer: Sendable {
    enum Result: Sendable {
        case waiting
        /// nil: committed.
        case done(String?)
    }

    let wake = DispatchSemaphore(value: 0)
    let result = Mutex(Result.done(nil))
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

    /// Waits until the last outcome handed over is in the ledger (committing it, and whatever
    /// else is waiting, if no one else is).
    mutating func awaitCommitted() throws(LedgerWriteFailed) {
        guard let recorded = whenRecorded else { return }
        whenRecorded = nil
        if let failure = committer.awaitRecorded(answer) { throw LedgerWriteFailed(underlying: failure) }
        recorded()
    }
}
