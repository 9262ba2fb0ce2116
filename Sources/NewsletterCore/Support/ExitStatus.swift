/// The exit codes of `newsletter`, documented in the README for cron jobs and scripts.
public enum ExitStatus: Int32, Sendable, CaseIterable {
    /// Everything asked for was done.
    case success = 0
    /// Part of the work failed (some sources did not ingest) or a named record does not exist;
    /// the rest was done and stored.
    case partialFailure = 1
    /// `preview`: the week has too few comparisons (skipped, with the reason recorded), the
    /// store is empty, or there is nothing new to build.
    case nothingToBuild = 3
    /// `send`: the issue is not approved yet; `run`: the draft is built and the editors have their
    /// preview, waiting for `approve`.
    case notApproved = 4
    /// `send`, `run`: the mail server could not be reached or refused us; nothing more was sent.
    case mailServerUnavailable = 69
    /// The command line was wrong (argument-parser's usage error).
    case usage = 64
    /// Another run holds the lock (EX_TEMPFAIL): try again when it is done.
    case busy = 75
    /// `preview` and `run` with `summaries.strict = true`: a summary provider (the local runtime,
    /// say) could not run; the draft was written with the extractive fallbacks.
    case summariesUnavailable = 70
    /// The store could not be opened or written (`preview`, `run`: nor the outbox, e.g. a full disk).
    case storeError = 74
    /// The configuration file or environment is wrong.
    case configurationError = 78
}
