import Foundation
import NewsletterAPI
import OpenAPIRuntime

/// The issues and the comparisons, as `newsletter issues`, `status`, `approve` and `report`
/// read and change them.
extension APIHandler {
    func listIssues(_ input: Operations.ListIssues.Input) async throws -> Operations.ListIssues.Output {
        // Newest first; the cursor is the last week handed out.
        let issues = try await store.listIssues().sorted { $0.week > $1.week }
        let after = try input.query.cursor.map { cursor in
            guard let week = try? IssueWeek(parsing: cursor) else {
                throw APIProblem.badRequest("the cursor is not one this server handed out (next_cursor)", field: "cursor")
            }
            return week
        }
        let rest = after.map { week in issues.filter { $0.week < week } } ?? issues
        let page = Array(rest.prefix(input.query.limit ?? Self.defaultPageSize))
        var items: [APISchemas.Issue] = []
        for issue in page { items.append(try await schema(issue)) }
        let next = rest.count > page.count ? page.last.map { "\($0.week)" } : nil
        return .ok(.init(body: .json(.init(items: items, nextCursor: next))))
    }

    func getIssue(_ input: Operations.GetIssue.Input) async throws -> Operations.GetIssue.Output {
        .ok(.init(body: .json(try await schema(try await issue(input.path.week)))))
    }

    func getIssueDraft(_ input: Operations.GetIssueDraft.Input) async throws -> Operations.GetIssueDraft.Output {
        let issue = try await issue(input.path.week)
        guard let hash = issue.draftHash, let html = issue.html, let text = issue.text else {
            throw APIProblem.notFound("\(issue.week) has no draft (\(issue.status.rawValue))")
        }
        return .ok(
            .init(body: .json(.init(week: "\(issue.week)", subject: issue.subject ?? "", html: html, text: text, hash: hash))))
    }

    func approveIssue(_ input: Operations.ApproveIssue.Input) async throws -> Operations.ApproveIssue.Output {
        guard case .json(let body) = input.body else { throw APIProblem(.unsupportedMediaType, "send JSON") }
        let week = try Self.week(input.path.week)
        do {
            _ = try await IssueApproval(store: store, time: time, actor: actor).approve(week, expecting: body.hash)
        } catch let error as IssueApprovalError {
            switch error {
            case .malformedHash:
                throw APIProblem.badRequest("hash must be at least the first 6 hex digits of the draft's hash", field: "hash")
            case .refused(.noDraft): throw APIProblem.notFound(error.description)
            // Another draft than the one reviewed: the answer names the stored hash.
            case .refused: throw APIProblem(.conflict, error.description, field: "hash")
            }
        }
        return .ok(.init(body: .json(try await schema(try await self.issue(input.path.week)))))
    }

    func getIssueReport(_ input: Operations.GetIssueReport.Input) async throws -> Operations.GetIssueReport.Output {
        let week = try Self.week(input.path.week)
        let report: IssueReport
        do {
            report = try await IssueReport.make(week, store: store, at: time.now())
        } catch let error as ReportError {
            throw APIProblem.notFound("\(error)")
        }
        // The report's own JSON (`report --json`), carried as the document's free-form object.
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        let container = try JSONDecoder().decode(OpenAPIObjectContainer.self, from: try encoder.encode(report))
        return .ok(.init(body: .json(.init(additionalProperties: container))))
    }

    func listComparisons(_ input: Operations.ListComparisons.Input) async throws -> Operations.ListComparisons.Output {
        let after = try APICursor.afterID(input.query.cursor)
        let rest = try await store.listComparisons().sorted { $0.id < $1.id }.filter { $0.id > after }
        let page = rest.prefix(input.query.limit ?? Self.defaultPageSize)
        let next = rest.count > page.count ? page.last.map { APICursor.cursor(after: $0.id) } : nil
        return .ok(
            .init(
                body: .json(
                    .init(
                        items: page.map {
                            .init(id: $0.id, title: $0.title, published: $0.published, source: $0.source, takeCount: $0.takeCount)
                        }, nextCursor: next))))
    }

    // MARK: - Helpers

    static func week(_ text: String) throws -> IssueWeek {
        do {
            return try IssueWeek(parsing: text)
        } catch {
            throw APIProblem.badRequest("\(error)", field: "week")
        }
    }

    func issue(_ text: String) async throws -> IssueRecord {
        let week = try Self.week(text)
        guard let issue = try await store.issue(week) else { throw APIProblem.notFound("\(week) has no issue yet") }
        return issue
    }

    func schema(_ issue: IssueRecord) async throws -> APISchemas.Issue {
        var ledger: [String: Int] = [:]
        for (state, count) in try await store.deliveryCounts(issue.week) { ledger[state.rawValue] = count }
        return APISchemas.Issue(
            week: "\(issue.week)", status: APISchemas.IssueState(rawValue: issue.status.rawValue) ?? .draft,
            subject: issue.subject, draftHash: issue.draftHash,
            approved: issue.approvedHash != nil && issue.approvedHash == issue.draftHash, approvedAt: issue.approvedAt,
            sentAt: issue.sentAt, skipReason: issue.skipReason, ledger: .init(additionalProperties: ledger))
    }
}
