import Foundation
import Synchronization
import Testing

@testable import NewsletterCore

/// The threads a send's workers run on: when `run` returns they have ended, and what their work
/// captured (the store, in `Mailer.send`) is let go.
struct JoinedThreadsTests {
    final class Captured: Sendable {}

    @Test func eachBodyRunsOnceOnAThreadOfItsOwn() {
        let threads = Mutex<[pthread_t]>([])
        JoinedThreads.run(count: 4) { threads.withLock { $0.append(pthread_self()) } }
        let seen = threads.withLock { $0 }
        #expect(seen.count == 4)
        #expect(!seen.contains(pthread_self()), "not on the caller's thread")
    }

    /// Many rounds: a thread that only signalled it was done (a `Thread` and a `DispatchGroup`)
    /// still held what it captured for a moment after the caller went on, in some rounds.
    @Test func whatTheThreadsCapturedIsLetGoWhenRunReturns() {
        for round in 0..<500 {
            weak var released: Captured?
            do {
                let captured = Captured()
                released = captured
                JoinedThreads.run(count: 4) { withExtendedLifetime(captured) {} }
            }
            let held = released != nil
            #expect(!held, "round \(round): a thread still held what its work captured")
            if held { return }
        }
    }
}
