import Foundation

/// Debian's Dovecot (dovecot-imapd, dovecot-pop3d) on two free loopback ports, with a
/// throwaway configuration in a temporary directory: one user from a passwd-file, a Maildir,
/// STARTTLS on a certificate openssl makes now, and plaintext logins refused without TLS.
final class DovecotServer {
    static let executable = "/usr/sbin/dovecot"
    static var available: Bool {
        FileManager.default.isExecutableFile(atPath: executable)
            && FileManager.default.fileExists(atPath: "/usr/lib/dovecot/imap")
            && FileManager.default.fileExists(atPath: "/usr/lib/dovecot/pop3")
    }

    static let user = "bounces"
    static let password = "mailbox-pass-7"

    let directory: URL
    let imapPort: Int
    let pop3Port: Int
    let caFile: String
    let maildir: URL
    private let configFile: String
    private let process = Process()
    private let owner: (uid: uid_t, gid: gid_t)
    private var delivered = 0

    var imapURL: String { "imap://127.0.0.1:\(imapPort)/INBOX" }
    var pop3URL: String { "pop3://127.0.0.1:\(pop3Port)" }

    init() throws {
        directory = try TestPaths.temporaryDirectory()
        imapPort = try SMTPSink.freePort()
        var pop3 = try SMTPSink.freePort()
        while pop3 == imapPort { pop3 = try SMTPSink.freePort() }
        pop3Port = pop3
        let cert = directory.appendingPathComponent("cert.pem").path
        let key = directory.appendingPathComponent("key.pem").path
        try Self.run(
            "/usr/bin/openssl",
            [
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj",
                "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
            ])
        caFile = cert
        // Dovecot will not give mail to uid 0: as root, the mailbox belongs to nobody.
        owner = getuid() == 0 ? (65534, 65534) : (getuid(), getgid())
        let loginUser =
            getuid() == 0 ? "dovenull" : String(cString: getpwuid(getuid())!.pointee.pw_name)
        let internalUser = getuid() == 0 ? "dovecot" : loginUser
        let home = directory.appendingPathComponent("home")
        maildir = home.appendingPathComponent("Maildir")
        for sub in ["cur", "new", "tmp"] {
            try FileManager.default.createDirectory(
                at: maildir.appendingPathComponent(sub), withIntermediateDirectories: true)
        }
        let passwd = directory.appendingPathComponent("passwd").path  // named by the template
        try "\(Self.user):{PLAIN}\(Self.password)::::::\n".write(toFile: passwd, atomically: true, encoding: .utf8)
        let dh =
            FileManager.default.fileExists(atPath: "/usr/share/dovecot/dh.pem")
            ? "ssl_dh = </usr/share/dovecot/dh.pem" : ""
        var config = try String(contentsOf: TestPaths.fixture("tools/dovecot.conf.template"), encoding: .utf8)
        for (name, value) in [
            ("DIR", directory.path), ("CERT", cert), ("KEY", key), ("SSL_DH", dh), ("LOGIN_USER", loginUser),
            ("INTERNAL_USER", internalUser), ("MAILDIR", maildir.path), ("UID", "\(owner.uid)"),
            ("GID", "\(owner.gid)"), ("HOME", home.path), ("IMAP_PORT", "\(imapPort)"), ("POP3_PORT", "\(pop3Port)"),
        ] {
            config = config.replacingOccurrences(of: "@\(name)@", with: value)
        }
        configFile = directory.appendingPathComponent("dovecot.conf").path
        try config.write(toFile: configFile, atomically: true, encoding: .utf8)
        try chownTree(home)
        process.executableURL = URL(fileURLWithPath: Self.executable)
        process.arguments = ["-F", "-c", configFile]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        do {
            try SMTPSink.waitForListener(port: imapPort)
            try SMTPSink.waitForListener(port: pop3Port)
        } catch {
            kill(process.processIdentifier, SIGKILL)
            let log = (try? String(contentsOfFile: "\(directory.path)/dovecot.log", encoding: .utf8)) ?? ""
            throw CocoaError(.fileReadUnknown, userInfo: [NSLocalizedDescriptionKey: "dovecot did not start: \(log)"])
        }
    }

    deinit {
        // SIGKILL: on SIGTERM the master waits for its idle auth process for minutes; its
        // children notice the master's death and exit on their own.
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// Puts a message into the Maildir, as a local delivery agent would (new/, then Dovecot
    /// picks it up).
    func deliver(_ bytes: [UInt8]) throws {
        delivered += 1
        let name = "\(Int(Date().timeIntervalSince1970)).M\(delivered)P\(getpid()).test"
        let temporary = maildir.appendingPathComponent("tmp/\(name)")
        try Data(bytes).write(to: temporary)
        chown(temporary.path, owner.uid, owner.gid)
        try FileManager.default.moveItem(at: temporary, to: maildir.appendingPathComponent("new/\(name)"))
    }

    /// How many messages the mailbox holds now (new and cur).
    func messageCount() throws -> Int {
        try ["new", "cur"].map {
            try FileManager.default.contentsOfDirectory(atPath: maildir.appendingPathComponent($0).path).count
        }.reduce(0, +)
    }

    /// The log, for failure messages.
    var log: String { (try? String(contentsOfFile: "\(directory.path)/dovecot.log", encoding: .utf8)) ?? "" }

    private func chownTree(_ url: URL) throws {
        chown(url.path, owner.uid, owner.gid)
        for case let path as String in FileManager.default.enumerator(atPath: url.path)! {
            chown(url.appendingPathComponent(path).path, owner.uid, owner.gid)
        }
    }

    private static func run(_ executable: String, _ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
    }
}
