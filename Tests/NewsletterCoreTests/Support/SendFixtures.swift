import Foundation
import NewsletterCore

extension NewsletterStore {
    /// A draft of `week` whose text carries the greeting and the unsubscribe link, approved.
    func approveSendableIssue(_ week: IssueWeek) async throws {
        try await saveDraft(
            IssueDraft(
                week: week, subject: "Ship or Skip · \(week)", html: "<p>%%GREETING%%</p>",
                text: "%%GREETING%%\n\nUnsubscribe: %%UNSUBSCRIBE_URL%%\n", manifest: "{}", comparisonIDs: [],
                hash: "h1"))
        try await approve(week, hash: "h1", at: Date())
    }

    /// `count` confirmed subscribers, reader0@example.org onwards.
    func addConfirmedReaders(_ count: Int) async throws {
        for index in 0..<count {
            _ = try await addSubscriber(email: "reader\(index)@example.org", name: nil, status: .confirmed)
        }
    }
}
