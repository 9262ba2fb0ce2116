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
    func components(loadingKeys: Bool = true) throws -> Components {
        let configuration = try Configuration.load(path: configPath, loadingKeys: loadingKeys)
        // On a terminal the progress bar and plain lines tell the story; log lines would only
        // interleave with them, so they appear there only when asked for with --log-level.
        let level = logLevel ?? (Terminal.isInteractive ? .critical : configuration.logLevel)
        LoggingSystem.bootstrap { LogfmtLogHandler(label: $0, level: level) }
        return Components(configuration: configuration, logger: Logger(label: "newsletter"))
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
