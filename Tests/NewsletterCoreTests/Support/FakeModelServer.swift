import Foundation

/// Tests/NewsletterCoreTests/Fixtures/tools/fake_model_server.py on a free loopback port: an
/// OpenAI-compatible endpoint that answers, times out, fails, talks garbage or hangs up.
final class FakeModelServer {
    enum Mode: String {
        case ok, timeout, garbage, close
        case serverError = "500"
    }

    let server: PortAnnouncingProcess
    var port: Int { server.port }
    let log: URL
    var baseURL: String { "http://127.0.0.1:\(port)" }

    init(_ mode: Mode, reply: String = "The panel likes both tools.") throws {
        log = try TestPaths.temporaryDirectory()
        server = try PortAnnouncingProcess(
            "/usr/bin/env",
            [
                "python3", "-u", TestPaths.fixture("tools/fake_model_server.py").path, "--mode", mode.rawValue,
                "--reply", reply, "--log", log.path,
            ],
            what: "the fake model server")
    }

    /// The request bodies it received, in order.
    func requests() throws -> [[String: Any]] {
        try FileManager.default.contentsOfDirectory(atPath: log.path).filter { $0.hasSuffix(".json") }.sorted().map {
            try JSONSerialization.jsonObject(with: Data(contentsOf: log.appendingPathComponent($0))) as! [String: Any]
        }
    }

    /// The headers of request `number` (1-based) that matter to the tests.
    func headers(ofRequest number: Int) throws -> String {
        try String(contentsOf: log.appendingPathComponent(String(format: "%03d.headers", number)), encoding: .utf8)
    }

    /// A script that runs this fake as if it were llama-server (`-m MODEL --port P …`).
    static func llamaServerStandIn() throws -> String {
        let script = try TestPaths.temporaryDirectory().appendingPathComponent("llama-server")
        try """
        #!/bin/sh
        exec python3 -u '\(TestPaths.fixture("tools/fake_model_server.py").path)' "$@"
        """.write(to: script, atomically: true, encoding: .utf8)
        chmod(script.path, 0o755)
        return script.path
    }
}
