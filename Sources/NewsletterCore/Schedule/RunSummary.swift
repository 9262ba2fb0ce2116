/// The words of `newsletter run`'s last line, the one cron mail shows first.
extension RunReport {
    /// Each week's outcome, then the ingest, in a few words each.
    public var summary: String {
        (weeks.map { $0.outcome.summary(for: $0.week) } + [ingest.description]).joined(separator: "; ")
    }
}

extension RunReport.Ingested: CustomStringConvertible {
    public var description: String {
        if skipped { return "ingest: no ingest.sources configured" }
        var text = "ingest: \(pages) page\(pages == 1 ? "" : "s"), \(new) new"
        if updated > 0 { text += ", \(updated) updated" }
        if !failed.isEmpty { text += ", \(failed.count) FAILED" }
        return text
    }
}

extension ExitStatus {
    /// The status as the run's summary line begins: capitals where a person must act.
    public var runWord: String {
        switch self {
        case .success: "ok"
        case .partialFailure: "PARTIAL"
        case .notApproved: "waiting for approval"
        case .mailServerUnavailable: "MAIL SERVER FAILED"
        case .busy: "busy"
        case .storeError: "STORE/OUTBOX FAILED"
        case .configurationError: "CONFIGURATION ERROR"
        case .nothingToBuild: "nothing to build"
        case .usage: "usage"
        case .summariesUnavailable: "SUMMARIES UNAVAILABLE"
        }
    }
}
