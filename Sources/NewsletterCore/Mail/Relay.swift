import Foundation
import Synchronization

/// One relay a send can go through (`[[smtp.relays]]`, or the one `smtp.url`): a transport and
/// its place among the others.
public struct Relay: Sendable {
    public var name: String
    public var transport: any MailTransport
    /// Lower goes first: the relays of the lowest priority that is up share the mail; a higher
    /// number is a fallback, used only while every relay before it is down.
    public var priority: Int
    /// Its share of the mail among the relays of its priority.
    public var weight: Double
    /// The relay's own quota; nil: none. Kept in the store's bucket named after the relay, so it
    /// holds for the whole list, whatever the number of senders (as `mail.list_messages_per_second`).
    public var messagesPerSecond: Double?
    /// Messages one connection carries before it is closed and another opened; nil: no limit.
    public var messagesPerConnection: Int?
    /// Connections open to it at once, at most.
    public var connections: Int

    public init(
        name: String, transport: any MailTransport, priority: Int = 1, weight: Double = 1,
        messagesPerSecond: Double? = nil, messagesPerConnection: Int? = nil, connections: Int = 4
    ) {
        self.name = name
        self.transport = transport
        self.priority = priority
        self.weight = weight
        self.messagesPerSecond = messagesPerSecond
        self.messagesPerConnection = messagesPerConnection
        self.connections = connections
    }

    /// The list-wide bucket that keeps `messagesPerSecond` (a store bucket of its own).
    var sendLimit: ListSendLimit? { messagesPerSecond.map { ListSendLimit(perSecond: $0) } }
    var bucketName: String { "relay:\(name)" }
}

/// How one relay stands in this send.
public struct RelayHealth: Sendable, Equatable {
    public var name: String
    /// When it may be tried again (an uptime reading); nil: up.
    public var downUntil: Duration?
    /// Failures since its last accepted message; each one doubles the time it stays down.
    public var failures = 0
    public var lastError: String?
    /// Messages it accepted in this send.
    public var accepted = 0

    func isUp(at now: Duration) -> Bool { downUntil.map { $0 <= now } ?? true }
}

/// A connection to one relay, held by one worker at a time (checked out of the pool, and back).
final class RelayConnection: @unchecked Sendable {
    let relay: Int
    let transport: any MailTransport
    let perConnection: Int?
    private(set) var session: any MailSession
    private var carried = 0

    init(relay: Int, transport: any MailTransport, perConnection: Int?) throws(TransportUnavailable) {
        self.relay = relay
        self.transport = transport
        self.perConnection = perConnection
        session = try transport.makeSession()
    }

    /// The session the next message goes through: a connection that has carried the relay's
    /// per-connection limit is closed first and another opened in its place.
    func sessionForNextMessage() throws(TransportUnavailable) -> any MailSession {
        if let perConnection, carried >= perConnection {
            session.close()
            session = try transport.makeSession()
            carried = 0
        }
        carried += 1
        return session
    }
}

/// The relays of one send, their health and their connections. A worker checks out a connection
/// to a relay picked by weight among the best priority that is up, sends a batch through it, and
/// checks it back in; a relay that fails is marked down for a backoff that doubles with each
/// failure in a row, and the workers go on with the others. The random source is injected, so
/// the spread is reproducible in tests.
final class RelayPool: Sendable {
    enum Checkout {
        case connection(RelayConnection)
        /// Every relay is down: why each one is.
        case allDown(String)
        case stopped
    }

    private struct Slot {
        var idle: [RelayConnection] = []
        var open = 0
        /// Batches checked out to it in this send.
        var batches = 0
        var health: RelayHealth
    }

    private struct State {
        var slots: [Slot]
        var random: any RandomNumberGenerator & Sendable
        /// Bumped by every change a waiting worker may be waiting for.
        var version = 0
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    let relays: [Relay]
    private let time: any TimeSource
    private let backoff: Backoff
    private let state: Mutex<State>

    init(
        relays: [Relay], time: any TimeSource, backoff: Backoff,
        random: any RandomNumberGenerator & Sendable = SystemRandomNumberGenerator()
    ) {
        precondition(!relays.isEmpty, "a send needs a relay")
        self.relays = relays
        self.time = time
        self.backoff = backoff
        state = Mutex(State(slots: relays.map { Slot(health: RelayHealth(name: $0.name)) }, random: random))
    }

    /// Connections all relays together may have open: one worker each.
    var totalConnections: Int { relays.reduce(0) { $0 + max(1, $1.connections) } }

    var health: [RelayHealth] { state.withLock { $0.slots.map(\.health) } }

    /// A connection to a relay picked by weight among the best priority that is up, waiting
    /// while that relay's connections are all in use.
    func checkout(unless stopped: () -> Bool) async -> Checkout {
        enum Decision {
            case reuse(RelayConnection)
            case open(Int)
            case allDown(String)
            case wait(version: Int)
        }
        // A worker that waits for its pick's connection keeps that pick (while it stays among the
        // best that are up): picking afresh would favour whichever relay has one free, not the weights.
        var picked: Int?
        while true {
            if stopped() { return .stopped }
            let decision: Decision = state.withLock { state in
                let now = time.uptime()
                let up = relays.indices.filter { state.slots[$0].health.isUp(at: now) }
                guard let best = up.map({ relays[$0].priority }).min() else {
                    return .allDown(Self.whyDown(state.slots.map(\.health)))
                }
                let candidates = up.filter { relays[$0].priority == best }
                let index =
                    picked.flatMap { candidates.contains($0) ? $0 : nil }
                    ?? Self.pick(candidates, weights: relays, using: &state.random)
                picked = index
                // A relay whose connections are all in use gives its turn to one that has a
                // free connection and is no further ahead of its weighted share: the others keep
                // working, and over the send each relay's batches still follow the weights.
                let slots = state.slots
                let free = { (relay: Int) in
                    !slots[relay].idle.isEmpty || slots[relay].open < max(1, self.relays[relay].connections)
                }
                let share = { (relay: Int) in Double(slots[relay].batches) / self.relays[relay].weight }
                let chosen =
                    free(index)
                    ? index
                    : candidates.filter { $0 != index && free($0) && share($0) <= share(index) }.min { share($0) < share($1) }
                guard let chosen else { return .wait(version: state.version) }
                state.slots[chosen].batches += 1
                if let idle = state.slots[chosen].idle.popLast() { return .reuse(idle) }
                state.slots[chosen].open += 1
                return .open(chosen)
            }
            switch decision {
            case .reuse(let connection): return .connection(connection)
            case .allDown(let reason): return .allDown(reason)
            case .open(let index):
                do {
                    return .connection(
                        try RelayConnection(
                            relay: index, transport: relays[index].transport,
                            perConnection: relays[index].messagesPerConnection))
                } catch {
                    markDown(index, reason: error.reason, closing: nil)
                    changed { $0.slots[index].open -= 1 }
                }
            case .wait(let version): await waitForChange(since: version)
            }
        }
    }

    /// A connection back, for the next batch (any worker's); one to a relay now down is closed.
    func checkin(_ connection: RelayConnection) {
        let closed: RelayConnection? = changed { state in
            if state.slots[connection.relay].health.isUp(at: time.uptime()) {
                state.slots[connection.relay].idle.append(connection)
                return nil
            }
            state.slots[connection.relay].open -= 1
            return connection
        }
        closed?.session.close()
    }

    /// The relay of `connection` failed it (refused, timed out, 421, a 4xx to MAIL FROM): the
    /// connection is closed and the relay marked down. Returns how long it stays down.
    @discardableResult
    func failed(_ connection: RelayConnection, reason: String) -> Duration {
        markDown(connection.relay, reason: reason, closing: connection)
    }

    /// The relay took a message: it is counted, and its failures in a row start again from none.
    /// Returns true when it had failed before (it is back).
    func accepted(through connection: RelayConnection) -> Bool {
        state.withLock { state in
            state.slots[connection.relay].health.accepted += 1
            defer { state.slots[connection.relay].health.failures = 0 }
            return state.slots[connection.relay].health.failures > 0
        }
    }

    /// Whether a relay other than `index` is up now.
    func anotherRelayIsUp(besides index: Int) -> Bool {
        state.withLock { state in
            let now = time.uptime()
            return state.slots.indices.contains { $0 != index && state.slots[$0].health.isUp(at: now) }
        }
    }

    /// How relay `index` stands, as the store keeps it: times on the wall clock.
    func record(_ index: Int) -> RelayHealthRecord {
        let (health, uptime, now) = state.withLock { ($0.slots[index].health, time.uptime(), time.now()) }
        let down = health.downUntil.flatMap { $0 > uptime ? now.addingTimeInterval(($0 - uptime).seconds) : nil }
        return RelayHealthRecord(
            name: health.name, downUntil: down, failures: health.failures, lastError: health.lastError, updatedAt: now)
    }

    /// Closes the connections no worker holds. Each worker calls it as it ends, on its own thread,
    /// after its last check-in: the last one closes whatever is left.
    func closeIdle() {
        let idle = changed { state in
            state.slots.indices.flatMap { index in
                defer {
                    state.slots[index].open -= state.slots[index].idle.count
                    state.slots[index].idle.removeAll()
                }
                return state.slots[index].idle
            }
        }
        for connection in idle { connection.session.close() }
    }

    @discardableResult
    private func markDown(_ index: Int, reason: String, closing connection: RelayConnection?) -> Duration {
        let (wait, idle): (Duration, [RelayConnection]) = changed { state in
            let now = time.uptime()
            var health = state.slots[index].health
            // Workers that were sending through it when it failed find out one by one: one
            // outage counts once.
            if health.isUp(at: now) {
                health.failures += 1
                health.downUntil = now + backoff.delay(beforeRetry: health.failures)
            }
            health.lastError = reason
            state.slots[index].health = health
            let idle = state.slots[index].idle
            state.slots[index].idle.removeAll()
            state.slots[index].open -= idle.count + (connection == nil ? 0 : 1)
            return ((health.downUntil ?? now) - now, idle)
        }
        for closed in idle + (connection.map { [$0] } ?? []) { closed.session.close() }
        return wait
    }

    /// Runs `body` on the state, then wakes every waiting worker to look again.
    private func changed<T>(_ body: (inout State) -> T) -> T {
        let (result, waiters) = state.withLock { state in
            let result = body(&state)
            state.version += 1
            defer { state.waiters.removeAll() }
            return (result, state.waiters)
        }
        for waiter in waiters { waiter.resume() }
        return result
    }

    private func waitForChange(since version: Int) async {
        await withCheckedContinuation { (waiter: CheckedContinuation<Void, Never>) in
            let changedAlready = state.withLock { state in
                guard state.version == version else { return true }
                state.waiters.append(waiter)
                return false
            }
            if changedAlready { waiter.resume() }
        }
    }

    /// One of `candidates`, each as likely as its share of their weights.
    static func pick(
        _ candidates: [Int], weights relays: [Relay], using random: inout any RandomNumberGenerator & Sendable
    ) -> Int {
        guard candidates.count > 1 else { return candidates[0] }
        let total = candidates.reduce(0) { $0 + relays[$1].weight }
        var draw = Double(random.next() >> 11) / Double(1 << 53) * total
        for index in candidates {
            draw -= relays[index].weight
            if draw < 0 { return index }
        }
        return candidates[candidates.count - 1]
    }

    private static func whyDown(_ health: [RelayHealth]) -> String {
        if health.count == 1 { return health[0].lastError ?? "\(health[0].name) is down" }
        return "every relay is down: "
            + health.map { "\($0.name): \($0.lastError ?? "down")" }.joined(separator: "; ")
    }
}
