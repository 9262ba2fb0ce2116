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

/// An error that knows which exit status it ends `newsletter` with; the root command prints it
/// and exits with that status, so no command maps errors to codes itself.
public protocol ExitStatusProviding: Error {
    var exitStatus: ExitStatus { get }
}

/// Thrown by a command that has already said what went wrong (its results and failures are
/// printed): the root exits with the status and prints nothing more.
extension ExitStatus: ExitStatusProviding {
    public var exitStatus: ExitStatus { self }
}

extension StoreOpenError: ExitStatusProviding {}
extension DeliveryError: ExitStatusProviding {}
extension PostgresStoreError: ExitStatusProviding {}
extension StoreCopyError: ExitStatusProviding {}

/// A draft that is not there, or not the one named: the rest stands (exit status 1).
extension IssueStoreError: ExitStatusProviding {
    public var exitStatus: ExitStatus { .partialFailure }
}

/// A report on a week with no issue: nothing else was asked (exit status 1).
extension ReportError: ExitStatusProviding {
    public var exitStatus: ExitStatus { .partialFailure }
}

/// The bounce mailbox could not be read (exit status 69).
extension MailboxError: ExitStatusProviding {
    public var exitStatus: ExitStatus { .mailServerUnavailable }
}

extension PreviewError: ExitStatusProviding {
    public var exitStatus: ExitStatus {
        switch self {
        case .tooFewComparisons, .nothingToBuild, .emptyStore: .nothingToBuild
        case .outboxUnwritable: .storeError
        case .approvedDraftWouldChange, .alreadySent: .partialFailure
        case .tooManyVariants: .configurationError
        }
    }
}

/// A user that exists already or does not, a role or password refused (exit status 1).
extension EditorAccountError: ExitStatusProviding {
    public var exitStatus: ExitStatus { .partialFailure }
}

extension ConfigurationError: ExitStatusProviding {
    public var exitStatus: ExitStatus { .configurationError }
}

extension TemplateError: ExitStatusProviding {
    public var exitStatus: ExitStatus { .configurationError }
}

/// A configuration value that is read as it is used (`mail.from`, say) and turned out wrong:
/// the command ends with exit status 78, naming the key.
public struct InvalidSetting: ExitStatusProviding, CustomStringConvertible {
    public var key: String
    public var reason: any Error

    public init(key: String, reason: any Error) {
        self.key = key
        self.reason = reason
    }

    public var description: String { "\(key): \(reason)" }
    public var exitStatus: ExitStatus { .configurationError }
}

/// A command's own refusal (no bounce mailbox configured, another fetch reading the mailbox):
/// the message to print and the status to end with.
public struct CommandError: ExitStatusProviding, CustomStringConvertible {
    public var exitStatus: ExitStatus
    public var description: String

    public init(_ exitStatus: ExitStatus, _ description: String) {
        self.exitStatus = exitStatus
        self.description = description
    }
}
