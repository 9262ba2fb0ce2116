import Foundation
import Testing

@testable import NewsletterCore

/// `[dkim]`: keys read from PEM files (ours and openssl's), refused with the setting named when
/// they cannot sign; and the https rule for one-click unsubscribe.
struct DKIMSettingsTests {
    let directory: URL

    init() throws {
        directory = try TestPaths.temporaryDirectory()
    }

    func write(_ name: String, _ text: String, mode: mode_t = 0o600) throws -> String {
        let path = directory.appendingPathComponent(name).path
        #expect(FileManager.default.createFile(atPath: path, contents: Data(text.utf8)))
        chmod(path, mode)
        return path
    }

    /// A key made by openssl, as an administrator would (`openssl genpkey …`), mode 0600.
    func openssl(_ name: String, _ arguments: [String]) throws -> String {
        let path = directory.appendingPathComponent(name).path
        let result = try DKIMVerifiers.run("/usr/bin/openssl", [arguments[0], "-out", path] + arguments.dropFirst())
        #expect(result.status == 0, "\(result.output)")
        chmod(path, 0o600)
        return path
    }

    func load(_ toml: String, environment: [String: String] = [:]) throws(ConfigurationError) -> Configuration {
        let file = directory.appendingPathComponent("newsletter.toml")
        try! toml.write(to: file, atomically: true, encoding: .utf8)
        return try Configuration.load(path: file.path, environment: environment, workingDirectory: directory.path)
    }

    func error(_ toml: String, environment: [String: String] = [:]) -> (key: String, message: String)? {
        do {
            _ = try load(toml, environment: environment)
            return nil
        } catch {
            guard case .invalidValue(_, let key, let message) = error else { return ("?", "\(error)") }
            return (key, message)
        }
    }

    @Test func keysFromOpenSSLAndFromKeygenLoadAndSign() throws {
        _ = try openssl("rsa.pem", ["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"])
        _ = try openssl("ed.pem", ["genpkey", "-algorithm", "ed25519"])
        let configuration = try load(
            """
            [dkim]
            domain = "shiporskip.example"
            selector = "s1"
            private_key = "rsa.pem"
            ed25519_selector = "s1e"
            ed25519_private_key = "ed.pem"
            """)
        let signer = try #require(configuration.dkim.signer)
        #expect(signer.keys.map(\.algorithm) == [.rsaSHA256, .ed25519SHA256])
        #expect(signer.keys.first?.bits == 2048)
        let checks = signer.check()
        #expect(checks.count == 2 && checks.allSatisfy { $0.verifies })
        // Every transport the configuration makes signs.
        #expect(configuration.transport(for: try IssueWeek(year: 2026, week: 47)) is DKIMSigningTransport)
        #expect(configuration.endpointTransport() is DKIMSigningTransport)

        // The traditional PKCS#1 form (`-----BEGIN RSA PRIVATE KEY-----`) loads too.
        _ = try openssl("rsa1.pem", ["genrsa", "-traditional", "2048"])
        let traditional = try load(
            "[dkim]\ndomain = \"shiporskip.example\"\nselector = \"s1\"\nprivate_key = \"rsa1.pem\"")
        #expect(traditional.dkim.signer?.keys.count == 1)
    }

    @Test func withoutDKIMNothingIsSignedAndNoKeyIsNeeded() throws {
        let configuration = try load("")
        #expect(configuration.dkim.signer == nil)
        #expect(configuration.endpointTransport() is FileTransport)
    }

    @Test func theKeyFileCanComeFromTheEnvironment() throws {
        _ = try openssl("env.pem", ["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"])
        let configuration = try load(
            "[dkim]\ndomain = \"shiporskip.example\"\nselector = \"s1\"",
            environment: [Configuration.Environment.dkimKeyFile: "env.pem"])
        #expect(configuration.dkim.privateKey == directory.appendingPathComponent("env.pem").path)
        #expect(configuration.dkim.signer != nil)
    }

    @Test func unusableKeysAreRefusedNamingTheSetting() throws {
        let base = "[dkim]\ndomain = \"shiporskip.example\"\nselector = \"s1\"\n"
        // A missing file.
        var failure = try #require(error(base + "private_key = \"nope.pem\""))
        #expect(failure.key == "dkim.private_key" && failure.message.contains("no such file"))
        // Readable by every user.
        _ = try openssl("open.pem", ["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"])
        chmod(directory.appendingPathComponent("open.pem").path, 0o644)
        failure = try #require(error(base + "private_key = \"open.pem\""))
        #expect(failure.key == "dkim.private_key" && failure.message.contains("chmod 600"))
        // Too short: 1024 bits.
        _ = try openssl("short.pem", ["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024"])
        failure = try #require(error(base + "private_key = \"short.pem\""))
        #expect(failure.key == "dkim.private_key" && failure.message.contains("1024 bits"))
        // The wrong kind of key in each setting.
        _ = try openssl("ed.pem", ["genpkey", "-algorithm", "ed25519"])
        failure = try #require(error(base + "private_key = \"ed.pem\""))
        #expect(failure.key == "dkim.private_key" && failure.message.contains("Ed25519"))
        _ = try openssl("rsa.pem", ["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"])
        failure = try #require(
            error(base + "private_key = \"rsa.pem\"\ned25519_selector = \"s1e\"\ned25519_private_key = \"rsa.pem\""))
        #expect(failure.key == "dkim.ed25519_private_key" && failure.message.contains("is an RSA key"))
        _ = try openssl("ec.pem", ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"])
        failure = try #require(error(base + "private_key = \"ec.pem\""))
        #expect(failure.key == "dkim.private_key" && failure.message.contains("not an RSA private key"))
        // Not a key at all, and a key pasted into the configuration instead of its path.
        _ = try write("junk.pem", "hello")
        failure = try #require(error(base + "private_key = \"junk.pem\""))
        #expect(failure.key == "dkim.private_key" && failure.message.contains("not a PEM file"))
        failure = try #require(error(base + "private_key = \"-----BEGIN PRIVATE KEY-----\\nMIIE\""))
        #expect(failure.key == "dkim.private_key" && failure.message.contains("path"))
    }

    @Test func incompleteSettingsNameWhatIsMissing() throws {
        _ = try openssl("rsa.pem", ["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"])
        #expect(error("[dkim]\nselector = \"s1\"\nprivate_key = \"rsa.pem\"")?.key == "dkim.domain")
        #expect(error("[dkim]\ndomain = \"shiporskip.example\"\nprivate_key = \"rsa.pem\"")?.key == "dkim.selector")
        #expect(error("[dkim]\ndomain = \"shiporskip.example\"\nselector = \"s1\"")?.key == "dkim.private_key")
        #expect(
            error(
                "[dkim]\ndomain = \"shiporskip.example\"\nselector = \"s1\"\nprivate_key = \"rsa.pem\"\ned25519_selector = \"e\""
            )?
            .key == "dkim.ed25519_private_key")
        #expect(error("[dkim]\ndomain = \"shiporskip.example; x=1\"")?.key == "dkim.domain")
        #expect(error("[dkim]\nsigner = \"x\"").map { $0.key } == "?")  // an unknown key
    }

    @Test func oneClickUnsubscribeNeedsHTTPSPastLoopback() throws {
        func check(smtp: String?, publicURL: String) -> String? {
            var configuration = Configuration()
            configuration.smtp.url = smtp
            configuration.issue.publicURL = publicURL
            do {
                try configuration.requireOneClickUnsubscribeURL()
                return nil
            } catch {
                guard case .invalidValue(_, let key, _) = error else { return "\(error)" }
                return key
            }
        }
        #expect(check(smtp: "smtp://192.0.2.10:587", publicURL: "http://localhost:8080") == "server.public_url")
        #expect(check(smtp: "smtps://mail.example.org", publicURL: "http://news.example.org") == "server.public_url")
        #expect(check(smtp: "smtps://mail.example.org", publicURL: "https://news.example.org") == nil)
        for loopback in [
            "smtp://127.0.0.1:2525", "smtp://127.8.9.10:25", "smtp://localhost:25", "smtp://[::1]:25",
            "smtp://[0:0:0:0:0:0:0:1]:25",
        ] {
            #expect(check(smtp: loopback, publicURL: "http://localhost:8080") == nil, "\(loopback)")
        }
        #expect(check(smtp: nil, publicURL: "http://localhost:8080") == nil)  // the file transport
        #expect(check(smtp: "smtp://128.0.0.1:25", publicURL: "http://localhost:8080") == "server.public_url")
        #expect(check(smtp: "smtp://[2001:db8::1]:25", publicURL: "http://localhost:8080") == "server.public_url")
    }
}
