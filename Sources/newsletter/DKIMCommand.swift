import ArgumentParser
import Foundation
import NewsletterCore

struct DKIM: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dkim",
        abstract: "Make DKIM keys and check the ones configured in [dkim].",
        subcommands: [Keygen.self, Check.self]
    )

    struct Keygen: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a new private key (mode 0600) and print the DNS TXT record to publish.",
            discussion: """
                Writes <out>/<selector>.private.pem (never over an existing file) and \
                <out>/<selector>.txt, the record in zone-file form. The domain is --domain, else \
                dkim.domain, else the domain of mail.from.
                """
        )

        @OptionGroup var global: GlobalOptions
        @Option(help: ArgumentHelp("The selector: the record goes at <selector>._domainkey.<domain>."))
        var selector: String
        @Flag(help: "An Ed25519 key (RFC 8463) instead of RSA, for dkim.ed25519_private_key.")
        var ed25519 = false
        @Option(help: "RSA key size: 2048, 3072 or 4096.") var bits = 2048
        @Option(help: ArgumentHelp("The directory to write the key and record into.", valueName: "dir"))
        var out = "."
        @Option(help: "The signing domain (d=).") var domain: String?

        func validate() throws {
            guard Configuration.DKIM.isDomainName(selector) else {
                throw ValidationError("--selector: \"\(selector)\" is not a DNS label (letters, digits, '-')")
            }
            if let domain, !Configuration.DKIM.isDomainName(domain) {
                throw ValidationError("--domain: \"\(domain)\" is not a domain name")
            }
            guard [2048, 3072, 4096].contains(bits) else { throw ValidationError("--bits must be 2048, 3072 or 4096") }
        }

        func run() async throws {
            // The key the configuration names may be exactly the one about to be made.
            let settings = try global.components(loadingKeys: false).configuration
            let domain =
                self.domain ?? settings.dkim.domain
                ?? String(settings.mail.from.split(separator: "@").last ?? "example.com")
            let (key, pem) = try DKIMKey.generate(
                selector: selector, algorithm: ed25519 ? .ed25519SHA256 : .rsaSHA256, bits: bits)
            let keyPath = (out as NSString).appendingPathComponent("\(selector).private.pem")
            let recordPath = (out as NSString).appendingPathComponent("\(selector).txt")
            do {
                try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
                try Self.create(keyPath, contents: pem, mode: 0o600)
                try Self.create(recordPath, contents: key.zoneLine(domain: domain) + "\n", mode: 0o644)
            } catch {
                throw CommandError(.storeError, "\(error)")
            }
            let settingPrefix = ed25519 ? "ed25519_" : ""
            print(
                """
                wrote \(keyPath) (\(ed25519 ? "Ed25519" : "RSA \(bits) bits"), mode 0600) and \(recordPath)
                publish this TXT record:
                \(key.zoneLine(domain: domain))
                then in newsletter.toml:
                [dkim]
                domain = "\(domain)"
                \(settingPrefix)selector = "\(selector)"
                \(settingPrefix)private_key = "\(keyPath)"
                """)
        }

        /// Created with its mode from the start (O_EXCL: never over an existing file), so the
        /// key is never readable by others, not even between a write and a chmod.
        static func create(_ path: String, contents: String, mode: mode_t) throws {
            let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
            guard descriptor >= 0 else {
                throw KeyFileError(description: "cannot create \(path): \(String(cString: strerror(errno)))")
            }
            defer { close(descriptor) }
            let bytes = Array(contents.utf8)
            let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            guard written == bytes.count, fsync(descriptor) == 0 else {
                let reason = String(cString: strerror(errno))
                unlink(path)
                throw KeyFileError(description: "cannot write \(path): \(reason)")
            }
        }
    }

    struct KeyFileError: Error, CustomStringConvertible {
        var description: String
    }

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the DNS record a receiver looks up for each key, and check a signature made now.",
            discussion: """
                For each key in [dkim]: the TXT record derived from the private key (what must be \
                published), and whether a message signed now verifies against that public key. \
                Exit status: 0 every signature verifies; 1 one does not; 78 DKIM is not configured \
                or a key is unusable.
                """
        )

        @OptionGroup var global: GlobalOptions

        func run() async throws {
            let settings = try global.components().configuration
            guard let signer = settings.dkim.signer else {
                throw CommandError(
                    .configurationError, "dkim.domain: not set; DKIM is not configured, so mail goes out unsigned")
            }
            var failed = false
            for check in signer.check() {
                let path =
                    check.key.algorithm == .rsaSHA256 ? settings.dkim.privateKey : settings.dkim.ed25519PrivateKey
                let (name, _) = check.key.dnsRecord(domain: signer.domain)
                print(
                    "\(check.key.algorithm.rawValue) \(check.key.bits.map { "(\($0) bits) " } ?? "")key \(path ?? "")")
                print("  a receiver looks up TXT \(name):")
                print("  \(check.key.zoneLine(domain: signer.domain).replacingOccurrences(of: "\n", with: "\n  "))")
                print(
                    "  a signature made now: \(check.verifies ? "verifies" : "DOES NOT verify (\(check.problem ?? ""))")"
                )
                failed = failed || !check.verifies
            }
            let fromDomain = String(settings.mail.from.split(separator: "@").last ?? "").lowercased()
            let aligned = fromDomain == signer.domain || fromDomain.hasSuffix(".\(signer.domain)")
            print(
                aligned
                    ? "DMARC alignment: mail.from's domain \(fromDomain) is within d=\(signer.domain)"
                    : "DMARC alignment: NONE: mail.from's domain \(fromDomain) is not within d=\(signer.domain)")
            if failed { throw ExitStatus.partialFailure }
        }
    }
}
