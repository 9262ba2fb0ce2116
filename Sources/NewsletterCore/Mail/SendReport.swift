import Foundation

extension DeliverySummary {
    /// `send`'s line: what this run did, the ledger after it, and whether the issue is sent or
    /// the rest is in other live senders' hands.
    public func line(_ week: IssueWeek) -> String {
        let ending =
            complete
            ? " — complete" : leftToOtherSenders ? " — the rest is being sent by \(otherSenders) other sender(s)" : ""
        let resumed = self.resumed > 0 ? ", \(self.resumed) resumed after an interrupted run" : ""
        return
            "\(week): \(sent) sent, \(deferred) deferred, \(failed) failed, \(skipped) skipped\(resumed); ledger: \(DeliveryState.describe(ledger))\(ending)"
    }
}

extension DeliveryState {
    /// A week's ledger as "3 sent, 1 pending", in the states' order; "empty" when it has no row.
    public static func describe(_ ledger: [DeliveryState: Int]) -> String {
        let parts = allCases.compactMap { state in ledger[state].map { "\($0) \(state.rawValue)" } }
        return parts.isEmpty ? "empty" : parts.joined(separator: ", ")
    }
}

extension IssueStore where Self: SubscriberStore & DeliveryLedger {
    /// `send --dry-run`'s line: whether the week's draft is approved as it stands, the transport,
    /// how many are confirmed, and the ledger. Reads only.
    public func sendDryRun(_ week: IssueWeek, transport: String) async throws -> String {
        let issue = try await issue(week)
        let approved = issue?.approvedHash != nil && issue?.approvedHash == issue?.draftHash
        let confirmed = try await subscriberCount(status: .confirmed)
        let ledger = DeliveryState.describe(try await deliveryCounts(week))
        return
            "\(week): \(approved ? "approved" : "NOT approved (\(issue?.status.rawValue ?? "no draft"))"), transport \(transport), \(confirmed) confirmed subscriber(s); ledger: \(ledger)"
    }
}
