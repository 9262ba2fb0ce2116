import Foundation
import Synchronization

// TEMPORARY (branch async only, removed when the mailer's async send path is merged).
func tempBridge<T: Sendable>(_ op: @escaping @Sendable () async throws -> T) throws -> T {
    let done = DispatchSemaphore(value: 0)
    let box = Mutex<Result<T, any Error>?>(nil)
    Task.detached {
        do { let v = try await op(); box.withLock { $0 = .success(v) } } catch { box.withLock { $0 = .failure(error) } }
        done.signal()
    }
    done.wait()
    return try box.withLock { $0! }.get()
}

struct TempSyncLedger<S: DeliveryLedger & IssueStore>: Sendable {
    let s: S
    var admitsConcurrentSenders: Bool { s.admitsConcurrentSenders }
    func claimDeliveries(_ week: IssueWeek, limit: Int, runStarted: Date) throws -> [DeliveryClaim] { try tempBridge { try await s.claimDeliveries(week, limit: limit, runStarted: runStarted) } }
    func deliveryCounts(_ week: IssueWeek) throws -> [DeliveryState: Int] { try tempBridge { try await s.deliveryCounts(week) } }
    func ensureClaimsHeld(_ week: IssueWeek) throws { try tempBridge { try await s.ensureClaimsHeld(week) } }
    func finishDelivery(_ week: IssueWeek) throws { try tempBridge { try await s.finishDelivery(week) } }
    func issue(_ week: IssueWeek) throws -> IssueRecord? { try tempBridge { try await s.issue(week) } }
    func markSent(_ week: IssueWeek, at time: Date) throws { try tempBridge { try await s.markSent(week, at: time) } }
    func prepareDelivery(_ week: IssueWeek, addSubscribers: Bool) throws -> (added: Int, resumed: Int) { let r = try tempBridge { let x = try await s.prepareDelivery(week, addSubscribers: addSubscribers); return [x.added, x.resumed] }; return (r[0], r[1]) }
    func recordFailed(_ week: IssueWeek, subscriberID: Int64, reply: String, refusal: BounceEvidence, rule: BounceRule, at time: Date) throws { try tempBridge { try await s.recordFailed(week, subscriberID: subscriberID, reply: reply, refusal: refusal, rule: rule, at: time) } }
    func recordSkipped(_ week: IssueWeek, subscriberID: Int64, reason: String) throws { try tempBridge { try await s.recordSkipped(week, subscriberID: subscriberID, reason: reason) } }
    func releaseClaims(_ week: IssueWeek, subscriberIDs: [Int64]) throws { try tempBridge { try await s.releaseClaims(week, subscriberIDs: subscriberIDs) } }
    func takeListSendTokens(_ wanted: Int, limit: ListSendLimit, at time: Date) throws -> Int { try tempBridge { try await s.takeListSendTokens(wanted, limit: limit, at: time) } }
    func liveSenders(_ week: IssueWeek, at time: Date) throws -> [SenderStatus] { try tempBridge { try await s.liveSenders(week, at: time) } }
    func recordDeliveries(_ week: IssueWeek, _ records: [DeliveryRecord]) throws { try tempBridge { try await s.recordDeliveries(week, records) } }
}
