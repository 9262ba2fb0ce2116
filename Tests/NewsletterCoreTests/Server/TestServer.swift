import Foundation
import Hummingbird
import Logging

@testable import NewsletterCore

/// The production assembly (`buildApplication`) over a test's store: the project's templates,
/// mail as files under the test's outbox, and whatever the test changes in the configuration.
///
/// Without the endpoint mail queue: an application with a service makes `app.test(.router)`
/// run a `ServiceGroup`, which takes SIGTERM and SIGINT for the whole test process, and the
/// processes other tests start then inherit them blocked (a `serve` or smtp-sink that a test
/// stops with SIGTERM never stops). The queue is tested on its own (`EndpointMailQueueTests`),
/// and so is the click counter's flushing (`ClickCounterTests`).
enum TestServer {
    static func app<Store: NewsletterStore>(
        store: Store, outbox: URL? = nil, dependencies: ServerDependencies = .init(),
        logger: Logger = Logger(label: "test"), _ configure: (inout Configuration) -> Void = { _ in }
    ) throws -> some ApplicationProtocol {
        var dependencies = dependencies
        dependencies.sendsEndpointMail = false
        dependencies.sendsWebhooks = false
        dependencies.flushesClicks = false
        var configuration = Configuration()
        configuration.templatesDirectory = TestPaths.repository.appendingPathComponent("templates").path
        configuration.outboxDirectory = try (outbox ?? TestPaths.temporaryDirectory().appendingPathComponent("outbox"))
            .path
        configure(&configuration)
        return try buildApplication(
            components: Components(configuration: configuration, logger: logger), store: store,
            dependencies: dependencies)
    }
}
