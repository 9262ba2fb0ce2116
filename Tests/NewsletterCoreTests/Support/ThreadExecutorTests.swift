import Foundation
import Synchronization
import Testing

@testable import NewsletterCore

/// The threads a send's tasks run on: each task keeps its own thread across its suspensions (its
/// blocking transfers never land on the shared pool), and when `run` returns the threads have
/// ended and what the tasks captured (the store, in `Mailer.send`) is let go.
struct ThreadExecutorTests {
    final class Captured: Sendable {}

    @Test func eachTaskRunsOnAThreadOfItsOwnAcrossItsSuspensions() async {
        let seen = Mutex<[Int: Set<pthread_t>]>([:])
        let caller = pthread_self()
        await ThreadExecutor.run(count: 4) { index in
            for _ in 0..<20 {
                _ = seen.withLock { $0[index, default: []].insert(pthread_self()) }
                await Task.yield()
            }
        }
        let threads = seen.withLock { $0 }
        #expect(threads.count == 4)
        #expect(threads.values.allSatisfy { $0.count == 1 }, "a task moved threads: \(threads)")
        #expect(Set(threads.values.flatMap { $0 }).count == 4, "two tasks shared a thread: \(threads)")
        #expect(!threads.values.contains([caller]), "not on the caller's thread")
    }

    /// Many rounds: a thread that only signalled it was done (a `Thread` and a `DispatchGroup`)
    /// still held what it captured for a moment after the caller went on, in some rounds.
    @Test func whatTheTasksCapturedIsLetGoWhenRunReturns() async {
        for round in 0..<300 {
            weak var released: Captured?
            do {
                let captured = Captured()
                released = captured
                await ThreadExecutor.run(count: 4) { _ in withExtendedLifetime(captured) {} }
            }
            let held = released != nil
            #expect(!held, "round \(round): a thread still held what its task captured")
            if held { return }
        }
    }

    struct Refused: Error, Equatable {}

    @Test func withOwnThreadRunsOffTheCallersThreadAndPassesTheResultOrTheError() async {
        let caller = pthread_self()
        let ran = await ThreadExecutor.withOwnThread { pthread_self() }
        #expect(ran != caller)
        await #expect(throws: Refused()) {
            try await ThreadExecutor.withOwnThread { () throws(Refused) in throw Refused() }
        }
    }
}
