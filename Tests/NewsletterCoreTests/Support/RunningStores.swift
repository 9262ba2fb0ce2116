import Foundation
import NewsletterCore
import Synchronization
import Testing

/// The PostgreSQL stores a test opens (`PostgresStore.openRunning`) run their connection pools
/// until the test case ends, and are then shut down, their connections closed, so the pools of
/// a whole run do not pile up on the server. The trait `.runningStores` on a suite or test gives
/// each test case that scope; a store opened outside it is an error naming the trait, not a
/// pool nobody runs (its calls would wait for ever).
struct RunningStores: TestTrait, SuiteTrait, TestScoping {
    var isRecursive: Bool { true }

    @TaskLocal static var current: Registry?

    func provideScope(
        for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void
    ) async throws {
        guard testCase != nil else { return try await function() }
        let registry = Registry()
        do {
            try await Self.$current.withValue(registry) { try await function() }
        } catch {
            await registry.stopAll()
            throw error
        }
        await registry.stopAll()
    }

    final class Registry: Sendable {
        private let running = Mutex<[Task<Void, Never>]>([])

        func start(_ store: PostgresStore) {
            let task = Task { _ = try? await store.run() }
            running.withLock { $0.append(task) }
        }

        func stopAll() async {
            for task in running.withLock({ $0 }) {
                task.cancel()
                await task.value
            }
        }
    }

    struct NotInScope: Error, CustomStringConvertible {
        var description: String {
            "a PostgreSQL store was opened outside a test with the .runningStores trait: its pool would never run"
        }
    }
}

extension Trait where Self == RunningStores {
    /// Each test case's PostgreSQL stores run until it ends.
    static var runningStores: RunningStores { RunningStores() }
}

extension PostgresStore {
    /// Opens a store (migrating) and runs its pool until the test ends (`.runningStores`).
    static func openRunning(
        _ location: PostgresLocation, opening: Opening = .migrate, clock: any TimeSource = SystemTime(),
        sender: SenderIdentity = SenderIdentity()
    ) async throws -> PostgresStore {
        guard let registry = RunningStores.current else { throw RunningStores.NotInScope() }
        let store = try await PostgresStore.open(location, opening: opening, clock: clock, sender: sender)
        registry.start(store)
        return store
    }
}
