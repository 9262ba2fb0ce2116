import PostgresNIO
import Synchronization

/// A connection one task keeps for a run of store calls: a sender's worker and its committing
/// task (`withConnectionHeld`), which make a few store calls per message for a whole send.
///
/// Taken from the pool and given back per call, a connection cost more than its round trips:
/// each return schedules the pool's keep-alive and idle timers (30 and 60 s), and a timer
/// cancelled by the next lease still keeps its sleeping task, about 400 bytes with its dispatch
/// source, until its deadline. One sender at 1,500 messages a second held 60 MB of them (its RSS
/// grew from 50 to 110 MB while SQLite's stayed at 57). Held, a worker takes one connection for
/// the whole send, whatever the list's size.
extension PostgresStore {
    /// The pool's size, whose other connections serve the calls made outside a held one.
    static let maximumConnections = 20
    /// At most this many connections held at once, so that the calls made outside them (and
    /// the committing task a worker waits on) always find a connection.
    static let maximumHeld = 12

    /// The connection this task holds, and whose store it is (a process may have several).
    @TaskLocal static var heldConnection: HeldConnection?

    /// Runs `body` with the calls it makes to this store on one pooled connection, held until it
    /// returns. A call finding that connection closed, or in use by another call (a child task
    /// inherits it, and two calls must never share a transaction), takes one from the pool as
    /// before; one that loses it mid-statement fails as before, and the next ones use the pool.
    /// With no connection to be had (the pool is full of held ones, or the server is down),
    /// `body` runs as it would without, its calls leasing their own and failing with the reason.
    public func withConnectionHeld<T, Failure: Error>(_ body: () async throws(Failure) -> T) async throws(Failure) -> T {
        if let held = Self.heldConnection, held.store == ObjectIdentifier(self) { return try await body() }
        guard heldConnections.add(1, ordering: .relaxed).newValue <= Self.maximumHeld else {
            heldConnections.subtract(1, ordering: .relaxed)
            return try await body()
        }
        defer { heldConnections.subtract(1, ordering: .relaxed) }
        let held = HeldConnection(store: self)
        var outcome: Result<T, Failure>?
        do {
            try await client.withConnection { connection in
                poolLeases.add(1, ordering: .relaxed)
                held.hold(connection)
                defer { held.release() }
                await Self.$heldConnection.withValue(held) {
                    do throws(Failure) { outcome = .success(try await body()) } catch { outcome = .failure(error) }
                }
            }
        } catch {
            // The pool gave no connection, so `body` has not run.
        }
        guard let outcome else { return try await body() }
        return try outcome.get()
    }
}

/// A pooled connection held by one task (`PostgresStore.withConnectionHeld`), lent to one store
/// call at a time.
final class HeldConnection: Sendable {
    let store: ObjectIdentifier
    private struct State {
        var connection: PostgresConnection?
        var lent = false
    }
    private let state = Mutex(State())

    init(store: PostgresStore) {
        self.store = ObjectIdentifier(store)
    }

    func hold(_ connection: PostgresConnection) {
        state.withLock { $0.connection = connection }
    }

    /// The pool has it back: nobody may use it any more.
    func release() {
        state.withLock { $0.connection = nil }
    }

    /// The connection for one call; nil when it is closed or lost, or another call has it.
    func take() -> PostgresConnection? {
        state.withLock { state in
            guard !state.lent, let connection = state.connection, !connection.isClosed else { return nil }
            state.lent = true
            return connection
        }
    }

    /// The call is over; a connection it lost is not lent again.
    func giveBack(lost: Bool) {
        state.withLock { state in
            state.lent = false
            if lost { state.connection = nil }
        }
    }
}
