import Foundation
import Testing

@testable import NewsletterCore

/// What only the shared database adds to the endpoint's mail queue: several `serve` processes
/// draining it at once.
@Suite("PostgreSQL endpoint mail queue", .runningStores)
struct PostgresEndpointMailTests {
    /// While one process's claim is still open (its transaction not committed), another claims:
    /// the rows the first holds are skipped, never handed out twice, and the rest are taken.
    @Test func twoProcessesClaimingAtOnceTakeDifferentMails() async throws {
        let location = try await PostgresCluster.freshDatabase()
        let first = try await PostgresStore.openRunning(location)
        let second = try await PostgresStore.openRunning(location)
        let now = Date(timeIntervalSince1970: 1_795_000_000)
        for name in ["ada", "bob", "cy"] {
            _ = try await first.requestSignup(
                try MailAddress("\(name)@example.org"), name: nil, client: .commandLine, policy: SignupPolicy(), at: now
            )
        }
        let (held, taken) = try await first.transaction { connection in
            let held = try await connection.claimEndpointMail(limit: 2, at: now + 1, lease: 60)
            return (held, try await second.claimEndpointMail(limit: 10, at: now + 1, lease: 60))
        }
        #expect(held.map(\.subscriber.email) == ["ada@example.org", "bob@example.org"])
        #expect(taken.map(\.subscriber.email) == ["cy@example.org"])
        #expect(try await first.claimEndpointMail(limit: 10, at: now + 2, lease: 60).isEmpty, "all three leased")
    }
}
