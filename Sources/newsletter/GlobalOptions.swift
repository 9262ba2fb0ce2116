import ArgumentParser
import Foundation
import Logging
import NewsletterCore

/// Options every subcommand shares.
struct GlobalOptions: ParsableArguments {
    @Option(name: .customLong("config"), help: ArgumentHelp("The configuration file.", valueName: "path"))
    var configPath: String?

    @Option(
        help: ArgumentHelp(
            "Log level: trace, debug, info, notice, warning, error, critical (default: log.level, or info)."))
    var logLevel: Logger.Level?

    /// Loads the configuration and sets up logging; a bad configuration ends the command with
    /// exit status 78 and a message naming the key.
    func context(loadingKeys: Bool = true) throws -> CommandContext {
        let configuration: Configuration
        do {
            configuration = try Configuration.load(path: configPath, loadingKeys: loadingKeys)
        } catch {
            Terminal.printError("\(error)")
            throw ExitCode(ExitStatus.configurationError.rawValue)
        }
        // On a terminal the progress bar and plain lines tell the story; log lines would only
        // interleave with them, so they appear there only when asked for with --log-level.
        let level = logLevel ?? (Terminal.isInteractive ? .critical : configuration.logLevel)
        LoggingSystem.bootstrap { LogfmtLogHandler(label: $0, level: level) }
        return CommandContext(configuration: configuration, logger: Logger(label: "newsletter"))
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}

/// What a subcommand runs with.
struct CommandContext {
    var configuration: Configuration
    var logger: Logger

    /// The templates, checked; a broken one ends the command with exit status 78.
    func loadTemplates() throws -> TemplateSet {
        do {
            return try TemplateSet.load(directory: configuration.templatesDirectory)
        } catch {
            Terminal.printError("\(error)")
            throw ExitCode(ExitStatus.configurationError.rawValue)
        }
    }

    /// What messages are sent with; a bad `mail.from` ends the command with exit status 78.
    func deliverySettings() throws -> DeliverySettings {
        do {
            return try configuration.deliverySettings()
        } catch {
            Terminal.printError("mail.from: \(error)")
            throw ExitCode(ExitStatus.configurationError.rawValue)
        }
    }

    /// `send` and `run`: mail for receivers past loopback needs an https unsubscribe link;
    /// otherwise the command ends with exit status 78 before it sends anything.
    func requireOneClickUnsubscribeURL() throws {
        do {
            try configuration.requireOneClickUnsubscribeURL()
        } catch {
            Terminal.printError("\(error)")
            throw ExitCode(ExitStatus.configurationError.rawValue)
        }
    }

    /// The configured store (SQLite, or PostgreSQL under `store.url`); one that cannot be
    /// opened ends the command with exit status 74 (unreachable) or 78 (set up wrongly).
    func openStore() throws -> any NewsletterStore {
        try opening(StoreFactory.open)
    }

    /// The subscribers of the configured store: all `subscribers add`, `list` and `remove` need.
    func openSubscriberStore() throws -> any SubscriberStore {
        try openStore()
    }

    /// The comparisons of the configured store (`ingest`, `comparisons`).
    func openComparisonStore() throws -> any ComparisonStore {
        try openStore()
    }

    private func opening<Store>(_ open: (StoreLocation, Logger) throws(StoreOpenError) -> Store) throws -> Store {
        do {
            return try open(configuration.store, logger)
        } catch {
            Terminal.printError("\(error)")
            throw ExitCode(error.exitStatus.rawValue)
        }
    }
}
