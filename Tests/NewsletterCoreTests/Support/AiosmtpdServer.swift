import Foundation

/// aiosmtpd (PyPI) with STARTTLS and AUTH required, on a self-signed certificate made with
/// openssl; set up by scripts/setup-test-peers.sh.
final class AiosmtpdServer {
    let server: PortAnnouncingProcess
    var port: Int { server.port }
    let received: URL
    let caFile: String
    static let user = "digest"
    static let password = "s3cret-pass"

    static var python: String? {
        let cache = ProcessInfo.processInfo.environment["XDG_CACHE_HOME"] ?? (NSHomeDirectory() + "/.cache")
        let path =
            ProcessInfo.processInfo.environment["NEWSLETTER_PEERS_PYTHON"]
            ?? "\(cache)/newsletter/test-peers-aiosmtpd-1.4.6/bin/python"
        return FileManager.default.isExecutableFile(atPath: path) ? path : nil
    }

    let implicitTLS: Bool
    var url: String { "\(implicitTLS ? "smtps" : "smtp")://127.0.0.1:\(port)" }

    init(implicitTLS: Bool = false) throws {
        self.implicitTLS = implicitTLS
        let directory = try TestPaths.temporaryDirectory()
        received = directory.appendingPathComponent("received")
        try FileManager.default.createDirectory(at: received, withIntermediateDirectories: true)
        let cert = directory.appendingPathComponent("cert.pem").path
        let key = directory.appendingPathComponent("key.pem").path
        let openssl = Process()
        openssl.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        openssl.arguments = [
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj",
            "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
        ]
        openssl.standardOutput = FileHandle.nullDevice
        openssl.standardError = FileHandle.nullDevice
        try openssl.run()
        openssl.waitUntilExit()
        caFile = cert

        server = try PortAnnouncingProcess(
            Self.python!,
            [
                TestPaths.fixture("tools/aiosmtpd_server.py").path, "--dir", received.path, "--cert", cert, "--key",
                key,
                "--user", Self.user, "--password", Self.password,
            ] + (implicitTLS ? ["--implicit-tls"] : []),
            what: "aiosmtpd")
    }

    func messages() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: received.path).sorted().map {
            try String(contentsOfFile: received.appendingPathComponent($0).path, encoding: .utf8)
        }
    }
}
