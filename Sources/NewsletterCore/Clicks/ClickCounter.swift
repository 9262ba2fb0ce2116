import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// Counts clicks in memory and writes them to the store in batches, so a redirect never waits
/// on the store's writes: every `interval` (`tracking.flush_seconds`) and once more on a clean
/// stop. It runs as a service of the server's ServiceGroup, so SIGTERM flushes it; a `kill -9`
/// loses what was counted since the last flush, at most one interval's clicks.
public final class ClickCounter: Service, Sendable {
    public let store: any ClickStore
    public let interval: Duration
    let time: any TimeSource
    let logger: Logger

    private struct State {
        var pending: [Key: Tally] = [:]
        /// When the last flush began (`TimeSource.uptime`).
        var lastFlush: Duration
        /// Each message's recent clicks, for the burst rule (`ScannerRule`).
        var recent: [String: [RecentClick]] = [:]
    }

    struct Key: Hashable {
        var linkID: String
        var subscriberID: Int64?
    }

    struct Tally {
        var clicks: Int64 = 0
        var scannerClicks: Int64 = 0
    }

    struct RecentClick {
        var key: Key
        var at: Duration
        var scanner: Bool
    }

    private let state: Mutex<State>
    static let maxRecentMessages = 100_000
    static let maxRecentClicksPerMessage = 32

    /// The clicks of `message` the burst rule still looks at.
    func recentClicks(of message: String) -> Int { state.withLock { $0.recent[message]?.count ?? 0 } }

    public init(store: any ClickStore, interval: Duration, time: any TimeSource = SystemTime(), logger: Logger) {
        self.store = store
        self.interval = interval
        self.time = time
        self.logger = logger
        state = Mutex(State(lastFlush: time.uptime()))
    }

    /// Counts one click on `linkID`. `message` names the copy the click came from as well as
    /// can be told (the reader's token, else the client), for the burst rule; `scanner` is
    /// what the request itself says (`ScannerRule.looksLikeScanner`).
    public func count(linkID: String, subscriberID: Int64?, message: String, scanner: Bool) {
        let now = time.uptime()
        let key = Key(linkID: linkID, subscriberID: subscriberID)
        state.withLock { state in
            var recent = state.recent[message, default: []].filter { now - $0.at < ScannerRule.burstWindow }
            recent.append(RecentClick(key: key, at: now, scanner: scanner))
            // One message hitting links thousands of times a second (one client, under aggregate
            // tracking) made each click scan all of them under the lock. Its oldest clicks beyond
            // the bound stay as counted: no reader clicks that fast.
            if recent.count > Self.maxRecentClicksPerMessage {
                recent.removeFirst(recent.count - Self.maxRecentClicksPerMessage)
            }
            let burst = Set(recent.map(\.key.linkID)).count >= ScannerRule.burstLinks
            if burst {
                // Every click of the burst was a scanner's, those counted as a person's too
                // (a count already written is moved by a negative one at the next flush).
                for index in recent.indices.dropLast() where !recent[index].scanner {
                    recent[index].scanner = true
                    state.pending[recent[index].key, default: Tally()].clicks -= 1
                    state.pending[recent[index].key, default: Tally()].scannerClicks += 1
                }
                recent[recent.count - 1].scanner = true
            }
            if scanner || burst {
                state.pending[key, default: Tally()].scannerClicks += 1
            } else {
                state.pending[key, default: Tally()].clicks += 1
            }
            // Forgotten at each flush (State.forgetOldClicks); a flood of distinct messages
            // within one interval only costs the burst rule its memory, never the counts.
            if state.recent.count >= Self.maxRecentMessages { state.recent.removeAll(keepingCapacity: true) }
            state.recent[message] = recent
        }
    }

    /// The counts not yet written.
    var pendingCount: Int { state.withLock { $0.pending.count } }

    /// Writes what was counted when an interval has passed since the last flush.
    @discardableResult
    public func flushIfDue() async -> Bool {
        let due = state.withLock { time.uptime() - $0.lastFlush >= interval }
        if due { await flush() }
        return due
    }

    /// Writes every count so far in one transaction. A failed write keeps the counts for the
    /// next flush: nothing counted is dropped while the process lives.
    public func flush() async {
        let taken = state.withLock { state in
            state.lastFlush = time.uptime()
            let now = state.lastFlush
            state.recent = state.recent.filter { _, clicks in
                clicks.contains { now - $0.at < ScannerRule.burstWindow }
            }
            let taken = state.pending
            state.pending = [:]
            return taken
        }
        guard !taken.isEmpty else { return }
        let counts = taken.map {
            ClickCount(
                linkID: $0.key.linkID, subscriberID: $0.key.subscriberID, clicks: $0.value.clicks,
                scannerClicks: $0.value.scannerClicks)
        }
        do {
            try await store.recordClicks(counts)
        } catch {
            logger.error(
                "clicks could not be written; kept for the next flush", metadata: ["error": "\(error)"])
            state.withLock { state in
                for (key, tally) in taken {
                    state.pending[key, default: Tally()].clicks += tally.clicks
                    state.pending[key, default: Tally()].scannerClicks += tally.scannerClicks
                }
            }
        }
    }

    /// Flushes every interval until the service group stops, then once more.
    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do { try await Task.sleep(for: self.interval) } catch { break }
                await self.flush()
            }
        }
        await flush()
    }
}

/// Which clicks look like a link scanner's rather than a person's: mail security gateways and
/// link previewers fetch every link of a message the moment it arrives.
public enum ScannerRule {
    /// A HEAD request, or a user agent naming one of these (lower case), is a scanner's.
    public static let userAgents = [
        "barracuda", "mimecast", "proofpoint", "urldefense", "safelinks", "symantec", "trendmicro", "forcepoint",
        "sophos", "fireeye", "bingpreview", "google-safety", "python-requests", "go-http-client", "slackbot",
    ]
    /// This many distinct links of one message within `burstWindow`: no person clicks so fast.
    public static let burstLinks = 3
    public static let burstWindow = Duration.seconds(1)

    public static func looksLikeScanner(isHead: Bool, userAgent: String?) -> Bool {
        if isHead { return true }
        guard let agent = userAgent?.lowercased() else { return false }
        return userAgents.contains { agent.contains($0) }
    }
}
