import Synchronization
import Testing

@testable import NewsletterCore

struct AsyncGateTests {
    /// Who is inside the gate now, the most there ever were, and how many have entered.
    final class Room: Sendable {
        private struct Counts {
            var inside = 0
            var most = 0
            var entered = 0
        }
        private let counts = Mutex(Counts())

        func enter() {
            counts.withLock {
                $0.inside += 1
                $0.entered += 1
                $0.most = max($0.most, $0.inside)
            }
        }
        func leave() { counts.withLock { $0.inside -= 1 } }
        var inside: Int { counts.withLock { $0.inside } }
        var most: Int { counts.withLock { $0.most } }
        var entered: Int { counts.withLock { $0.entered } }
    }

    /// Six tasks through a gate for two: two are inside together, never three.
    @Test func aGateAdmitsAsManyHoldersAsItWasMadeForAndNoMore() async throws {
        let gate = AsyncGate(admitting: 2)
        let room = Room()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<6 {
                group.addTask {
                    try await gate.withLock {
                        room.enter()
                        // Stay until a second holder is in (or everybody has entered): behind a
                        // gate that admitted only one, this waits its whole 10 s and `most` is 1.
                        for _ in 0..<10_000 where room.inside < 2 && room.entered < 6 {
                            try await Task.sleep(for: .milliseconds(1))
                        }
                        room.leave()
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(room.most == 2)
    }

    /// The default gate is a lock: one holder at a time.
    @Test func theDefaultGateAdmitsOne() async throws {
        let gate = AsyncGate()
        let room = Room()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<4 {
                group.addTask {
                    try await gate.withLock {
                        room.enter()
                        try await Task.sleep(for: .milliseconds(5))
                        room.leave()
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(room.most == 1)
        #expect(room.entered == 4)
    }
}
