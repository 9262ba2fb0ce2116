import Foundation
import NewsletterCore
import Synchronization

/// A clock the test moves by hand. `sleep` waits for nothing: it moves the clock on and keeps
/// a record, so a backoff or a rate limit is checked by what it asked for, not by how long the
/// machine took.
final class ManualTime: TimeSource {
    private struct State {
        var now: Date
        var uptime: Duration = .seconds(1000)
        var sleeps: [Duration] = []
    }

    private let state: Mutex<State>

    /// Starts at `now`: by default the real time, so what the store stamps by itself (not yet
    /// through a clock) and what this clock says stay in order.
    init(_ now: Date = Date()) {
        state = Mutex(State(now: now))
    }

    func now() -> Date { state.withLock { $0.now } }
    func uptime() -> Duration { state.withLock { $0.uptime } }

    func sleep(for duration: Duration) {
        state.withLock {
            $0.sleeps.append(duration)
            advance(&$0, by: duration)
        }
    }

    /// Moves both clocks on.
    func advance(by duration: Duration) {
        state.withLock { advance(&$0, by: duration) }
    }

    /// Every sleep asked for so far.
    var sleeps: [Duration] { state.withLock { $0.sleeps } }

    private func advance(_ state: inout State, by duration: Duration) {
        guard duration > .zero else { return }
        state.now = state.now.addingTimeInterval(duration.seconds)
        state.uptime += duration
    }
}
