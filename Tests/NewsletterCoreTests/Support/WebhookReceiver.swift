import Foundation

/// webhook_receiver.py: verifies each request with the standardwebhooks package (PyPI, set up
/// by scripts/setup-test-peers.sh) and logs one JSON line per request. Restartable on its port.
final class WebhookReceiver {
    struct Received: Decodable {
        var id: String?
        var type: String?
        var data: [String: JSONValue]?
        var verified: Bool
        var error: String?
        /// The event's own time (the body's), and when the receiver had it (Unix seconds).
        var timestamp: String?
        var received_at: Double?
    }

    /// A JSON value, enough to compare the bodies' data.
    enum JSONValue: Decodable, Hashable {
        case number(Double), text(String), other

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let number = try? container.decode(Double.self) {
                self = .number(number)
            } else if let text = try? container.decode(String.self) {
                self = .text(text)
            } else {
                self = .other
            }
        }
    }

    static var available: Bool {
        guard let python = AiosmtpdServer.python else { return false }
        let check = Process()
        check.executableURL = URL(fileURLWithPath: python)
        check.arguments = ["-c", "import standardwebhooks"]
        check.standardError = FileHandle.nullDevice
        guard (try? check.run()) != nil else { return false }
        check.waitUntilExit()
        return check.terminationStatus == 0
    }

    let log: URL
    let secret: String
    private(set) var process: PortAnnouncingProcess
    var port: Int { process.port }

    init(secret: String, port: Int = 0, dieAfter: Int = 0) throws {
        log = try TestPaths.temporaryDirectory().appendingPathComponent("received.jsonl")
        self.secret = secret
        process = try Self.start(secret: secret, log: log, port: port, dieAfter: dieAfter)
    }

    private static func start(secret: String, log: URL, port: Int, dieAfter: Int) throws -> PortAnnouncingProcess {
        try PortAnnouncingProcess(
            AiosmtpdServer.python!,
            [
                TestPaths.fixture("tools/webhook_receiver.py").path, "--secret", secret, "--log", log.path,
                "--port", "\(port)", "--die-after", "\(dieAfter)",
            ], what: "webhook_receiver.py")
    }

    var isRunning: Bool { process.process.isRunning }

    /// Starts it again on the same port, appending to the same log.
    func restart() throws {
        let port = self.port
        process = try Self.start(secret: secret, log: log, port: port, dieAfter: 0)
    }

    func received() throws -> [Received] {
        guard let text = try? String(contentsOf: log, encoding: .utf8) else { return [] }
        return try text.split(separator: "\n").map { try JSONDecoder().decode(Received.self, from: Data($0.utf8)) }
    }
}
