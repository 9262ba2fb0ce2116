import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import Testing

@testable import NewsletterCore

/// `serve` stopping (SIGTERM) while the endpoint mail queue has a claim in hand: the mail being
/// sent is recorded as sent (not sent again after its lease), the rest go back untried.
@Suite(.runningStores)
struct EndpointMailQueueStopTests {
    /// A session that asks the server to stop while its first mail is in flight, then accepts it:
    /// the moment a real SMTP peer cannot be asked to pick.
    final class StopMidSend: MailTransport, @unchecked Sendable {
        let name = "stop-mid-send"
        let stop: @Sendable () -> Void
        let sent = Mutex<[String]>([])

        init(stop: @escaping @Sendable () -> Void) { self.stop = stop }

        func makeSession() throws(TransportUnavailable) -> any MailSession { Session(transport: self) }

        final class Session: MailSession {
            let transport: StopMidSend
            init(transport: StopMidSend) { self.transport = transport }

            func send(_ message: [UInt8], from: String, to: String, reference: String) throws(TransportUnavailable)
                -> SendOutcome
            {
                let first = transport.sent.withLock { sent in
                    sent.append(to)
                    return sent.count == 1
                }
                if first {
                    transport.stop()
                    // The stop reaches this task before the server's reply does.
                    for _ in 0..<1000 where !Task.isShuttingDownGracefully { usleep(10_000) }
                    for _ in 0..<50 where !Task.isCancelled { usleep(10_000) }
                }
                return .sent(reply: "250 2.0.0 queued")
            }
            func close() {}
        }
    }

    @Test(arguments: StoreBackend.all)
    func aCleanStopRecordsTheMailInFlightAndHandsBackTheRest(_ backend: StoreBackend) async throws {
        try await stopMidSend(try await backend.makeStore())
    }

    func stopMidSend(_ store: some NewsletterStore) async throws {
        var ids: [Int64] = []
        for name in ["ada", "bob", "cy"] {
            guard
                case .confirmationQueued(let id) = try await store.requestSignup(
                    try MailAddress("\(name)@example.org"), name: nil, client: .commandLine, policy: SignupPolicy(),
                    at: Date())
            else { Issue.record("no confirmation queued for \(name)"); return }
            ids.append(id)
        }
        let group = Mutex<ServiceGroup?>(nil)
        let transport = StopMidSend {
            let group = group.withLock { $0 }
            Task { await group?.triggerGracefulShutdown() }
        }
        let queue = EndpointMailQueue(
            store: store, transport: transport,
            templates: try TemplateSet.load(directory: TestPaths.repository.appendingPathComponent("templates").path),
            delivery: DeliverySettings(
                from: try MailAddress("digest@example.org"), listID: "digest.example.org",
                publicURL: "https://news.example.org"),
            issue: IssueSettings(), policy: SignupPolicy(), logger: Logger(label: "test"), wakeup: Wakeup())
        let services = ServiceGroup(
            configuration: .init(services: [.init(service: queue)], gracefulShutdownSignals: [], logger: Logger(label: "test")))
        group.withLock { $0 = services }
        try await services.run()

        #expect(transport.sent.withLock { $0 } == ["ada@example.org"])
        // The two nobody tried are due now for the next server, as their first attempt; the
        // accepted one is on record as sent, so not due even once its lease would have passed.
        let due = try await store.claimEndpointMail(limit: 10, at: Date().addingTimeInterval(601), lease: 600)
        #expect(due.map(\.subscriber.id).sorted() == Array(ids.dropFirst()))
        #expect(due.map(\.attempt) == [1, 1])
        #expect(try await store.endpointMailQueueDepth() == 2)
    }
}
