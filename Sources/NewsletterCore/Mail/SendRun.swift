import Foundation
import Synchronization

/// One worker's encoders, one per frozen variant it has met (usually one).
struct IssueEncoders {
    let settings: DeliverySettings
    private var made: [(content: FrozenContent, encoder: IssueEncoder)] = []

    init(settings: DeliverySettings) {
        self.settings = settings
    }

    mutating func encoder(for content: FrozenContent) -> IssueEncoder {
        // The variants' strings come from one stored record, so comparing them is cheap.
        if let found = made.first(where: {
            $0.content.subject == content.subject && $0.content.html == content.html && $0.content.text == content.text
        }) {
            return found.encoder
        }
        let encoder = IssueEncoder(
            from: settings.from, subject: content.subject, text: content.text, html: content.html,
            listID: settings.listID, unsubscribeMailto: settings.unsubscribeMailto, feedbackID: settings.feedbackID)
        made.append((content, encoder))
        return encoder
    }
}

struct LedgerWriteFailed: Error {
    var underlying: String

    /// Why the run stopped: the server has the message, the ledger does not say so.
    static func reason(_ underlying: String) -> String {
        "the ledger could not record a delivery (\(underlying)); the message the server took stays in flight and the next run sends it again"
    }
}

/// The previous message's outcome could not be recorded, found before sending the next one.
struct EarlierLedgerWriteFailed: Error {
    var underlying: String
}

/// Why a run stopped early: whose failure it was decides what the run reports (and its exit status).
enum RunStop: Sendable, Equatable {
    case server(String)
    case store(String)
}

/// State the workers of one run share.
final class SharedRun: Sendable {
    struct Tallies {
        var sent = 0
        var deferred = 0
        var failed = 0
    }

    private struct State {
        var remaining: Int?
        var failure: RunStop?
        var tallies = Tallies()
        var lastPermanentCode: Substring = ""
        var permanentRun = 0
    }

    private let state: Mutex<State>
    let started: Date

    init(limit: Int?, started: Date) {
        state = Mutex(State(remaining: limit))
        self.started = started
    }

    var stopped: Bool { state.withLock { $0.failure != nil } }
    var failure: RunStop? { state.withLock { $0.failure } }
    var tallies: Tallies { state.withLock { $0.tallies } }

    func fail(_ reason: RunStop) {
        state.withLock { if $0.failure == nil { $0.failure = reason } }
    }

    /// Up to `wanted` more messages under `--limit`.
    func take(_ wanted: Int) -> Int {
        state.withLock {
            guard let remaining = $0.remaining else { return wanted }
            let granted = min(wanted, remaining)
            $0.remaining = remaining - granted
            return granted
        }
    }

    func giveBack(_ unused: Int) {
        guard unused > 0 else { return }
        state.withLock { if let remaining = $0.remaining { $0.remaining = remaining + unused } }
    }

    func count(_ outcome: SendOutcome) {
        state.withLock {
            switch outcome {
            case .sent:
                $0.tallies.sent += 1
                $0.permanentRun = 0
            case .transient: $0.tallies.deferred += 1
            case .permanent: $0.tallies.failed += 1
            }
        }
    }

    /// How many permanent failures in a row (across workers) have had this reply's code.
    func repeatedPermanentFailures(_ reply: String) -> Int {
        state.withLock {
            let code = reply.prefix(3)
            $0.permanentRun = code == $0.lastPermanentCode ? $0.permanentRun + 1 : 1
            $0.lastPermanentCode = code
            return $0.permanentRun
        }
    }
}
