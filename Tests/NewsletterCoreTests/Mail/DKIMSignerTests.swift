import Foundation
import Logging
import Testing

@testable import NewsletterCore

/// DKIM signatures as a receiver sees them: each message goes through the signing transport to
/// Postfix's smtp-sink, and the dump it wrote is checked by dkimpy (and OpenDKIM where its tools
/// are installed), the DNS answered from the keys generated here.
@Suite(
    .serialized,
    .enabled(if: SMTPSink.available, "smtp-sink (Debian postfix) is not installed"),
    .enabled(if: DKIMVerifiers.dkimpyAvailable, "dkimpy is not installed (scripts/setup-test-peers.sh)"))
struct DKIMSignerTests {
    static let rsa = try! DKIMKey.generate(selector: "nl2026", algorithm: .rsaSHA256).key
    static let ed25519 = try! DKIMKey.generate(selector: "nl2026e", algorithm: .ed25519SHA256).key
    let signer = DKIMSigner(domain: "shiporskip.example", keys: [Self.rsa, Self.ed25519])

    func issueMessage() throws -> OutgoingMessage {
        OutgoingMessage(
            from: try MailAddress("digest@shiporskip.example", displayName: "Ship or Skip Weekly"),
            to: try MailAddress("ada@example.org", displayName: "Ada Lovelace"),
            subject: "Ship or Skip — week 47: Inkwell vs Quill",
            text: "Hello Ada,\n\nThis week: Inkwell  vs Quill.  \n\n\n",
            html: "<p>Hello <b>Ada</b></p>\n<p>Ünïcödé and a long line " + String(repeating: "x", count: 300)
                + "</p>\n",
            listID: "weekly.shiporskip.example", unsubscribeURL: "https://news.shiporskip.example/unsubscribe/tok",
            unsubscribeMailto: "mailto:unsubscribe@shiporskip.example", feedbackID: "2026-W47:weekly:shiporskip")
    }

    /// Sends `message` through the signing transport to a fresh smtp-sink and returns the bytes
    /// it received.
    func received(_ message: OutgoingMessage, signer: DKIMSigner? = nil) throws -> [UInt8] {
        let sink = try SMTPSink()
        let transport = DKIMSigningTransport(
            inner: SMTPTransport(settings: .init(url: sink.url, allowPlaintext: true)), signer: signer ?? self.signer)
        let session = try transport.makeSession()
        let outcome = try session.send(
            try message.encoded().bytes, from: message.from.address, to: message.to.address, reference: "t")
        session.close()
        guard case .sent = outcome else {
            Issue.record("not sent: \(outcome)")
            return []
        }
        let dumps = try FileManager.default.contentsOfDirectory(atPath: sink.dumps.path)
        let dump = try #require(dumps.first)
        return try TestPaths.bytes(sink.dumps.appendingPathComponent(dump))
    }

    func dkimpy(_ bytes: [UInt8], signer: DKIMSigner? = nil) throws -> DKIMVerifiers.Result {
        try DKIMVerifiers.dkimpy(bytes, records: DKIMVerifiers.records(signer ?? self.signer))
    }

    @Test func bothSignaturesOfAnIssueVerifyAsReceived() throws {
        let bytes = try received(try issueMessage())
        let result = try dkimpy(bytes)
        #expect(result.passed, "\(result.output)")
        #expect(result.output.contains("0 rsa-sha256 nl2026 pass"))
        #expect(result.output.contains("1 ed25519-sha256 nl2026e pass"))
        if DKIMVerifiers.opendkimAvailable {
            let opendkim = try DKIMVerifiers.opendkim(bytes, records: DKIMVerifiers.records(signer))
            #expect(opendkim.passed, "\(opendkim.output)")
            #expect(opendkim.output.contains("0 pass") && opendkim.output.contains("1 pass"))
            // The keys come from the stub DNS and nowhere else: without the records, nothing verifies.
            let unpublished = try DKIMVerifiers.opendkim(bytes, records: [])
            #expect(!unpublished.passed && unpublished.output.contains("Key retrieval failed"), "\(unpublished.output)")
        }
    }

    /// The `h=` names of each DKIM-Signature field of `bytes`, in order.
    func signedNames(_ bytes: [UInt8]) -> [[String]] {
        DKIMCanonical.split(bytes).fields.filter { $0.lowercasedName == "dkim-signature" }.map {
            (DKIMSigner.tags($0.raw)["h"] ?? "").split(separator: ":").map(String.init)
        }
    }

    @Test func theSignatureCoversTheListHeadersAndOversignsFrom() throws {
        let bytes = try received(try issueMessage())
        let signatures = signedNames(bytes)
        #expect(signatures.count == 2)
        for names in signatures {
            #expect(names.filter { $0 == "from" }.count == 2)
            for name in [
                "to", "subject", "date", "message-id", "mime-version", "content-type", "list-id", "list-unsubscribe",
                "list-unsubscribe-post", "feedback-id",
            ] {
                #expect(names.contains(name), "h= lacks \(name): \(names)")
            }
        }
        #expect(String(decoding: bytes, as: UTF8.self).contains("c=relaxed/relaxed"))
    }

    /// A confirmation has no list headers, and h= names only what is there (besides From).
    @Test func aMessageWithoutListHeadersVerifiesAndDoesNotNameThem() throws {
        var message = try issueMessage()
        message.unsubscribeURL = nil
        message.feedbackID = nil
        message.html = nil
        let bytes = try received(message)
        #expect(try dkimpy(bytes).passed)
        for names in signedNames(bytes) {
            #expect(!names.contains("list-unsubscribe") && !names.contains("list-id") && !names.contains("feedback-id"))
            #expect(names.filter { $0 == "from" }.count == 2 && names.contains("subject"))
        }
    }

    @Test func aChangedSubjectFailsBothSignatures() throws {
        let text = String(decoding: try received(try issueMessage()), as: UTF8.self)
        let tampered = try #require(text.firstRange(of: "Subject: "))
        let changed = text.replacingCharacters(in: tampered, with: "Subject: FREE MONEY ")
        let result = try dkimpy(Array(changed.utf8))
        #expect(!result.passed)
        #expect(
            result.output.contains("0 rsa-sha256 nl2026 fail")
                && result.output.contains("1 ed25519-sha256 nl2026e fail"))
        if DKIMVerifiers.opendkimAvailable {
            #expect(!(try DKIMVerifiers.opendkim(Array(changed.utf8), records: DKIMVerifiers.records(signer))).passed)
        }
    }

    @Test func oneChangedByteOfTheBodyFailsBothSignatures() throws {
        var bytes = try received(try issueMessage())
        // smtp-sink's dump ends lines with LF alone.
        let separator = try #require(bytes.indices.first { bytes[$0...].starts(with: [10, 10]) })
        // The first letter of the body becomes another letter (white space changes could be
        // absorbed by relaxed canonicalization; a letter cannot).
        let index = try #require(bytes.indices.first { $0 > separator + 1 && (65...90).contains(bytes[$0]) })
        bytes[index] = bytes[index] == 90 ? 89 : bytes[index] + 1
        let result = try dkimpy(bytes)
        #expect(
            result.output.contains("0 rsa-sha256 nl2026 fail")
                && result.output.contains("1 ed25519-sha256 nl2026e fail"))
        if DKIMVerifiers.opendkimAvailable {
            #expect(!(try DKIMVerifiers.opendkim(bytes, records: DKIMVerifiers.records(signer))).passed)
        }
    }

    @Test func aSecondFromAddedAfterSigningFailsButAnUnsignedHeaderDoesNot() throws {
        let bytes = try received(try issueMessage())
        let forged = Array("From: \"Your Bank\" <security@bank.example>\r\n".utf8) + bytes
        #expect(!(try dkimpy(forged)).passed)
        if DKIMVerifiers.opendkimAvailable {
            #expect(!(try DKIMVerifiers.opendkim(forged, records: DKIMVerifiers.records(signer))).passed)
        }
        // A header a relay adds (not in h=) leaves the signatures intact: the verifier is not
        // simply failing everything that changed.
        let relayed =
            Array("Received: from relay.example by mx.example; Mon, 23 Nov 2026 07:00:00 +0000\r\n".utf8) + bytes
        #expect(try dkimpy(relayed).passed)
        if DKIMVerifiers.opendkimAvailable {
            #expect(try DKIMVerifiers.opendkim(relayed, records: DKIMVerifiers.records(signer)).passed)
        }
    }

    @Test func aSignatureDoesNotVerifyAgainstAnotherKey() throws {
        let bytes = try received(try issueMessage())
        let other = DKIMSigner(
            domain: "shiporskip.example",
            keys: [
                try DKIMKey.generate(selector: "nl2026", algorithm: .rsaSHA256).key,
                try DKIMKey.generate(selector: "nl2026e", algorithm: .ed25519SHA256).key,
            ])
        let result = try dkimpy(bytes, signer: other)
        #expect(
            result.output.contains("0 rsa-sha256 nl2026 fail")
                && result.output.contains("1 ed25519-sha256 nl2026e fail"))
    }

    @Test func theFileTransportWritesSignedMessages() throws {
        let directory = try TestPaths.temporaryDirectory()
        let transport = DKIMSigningTransport(inner: FileTransport(directory: directory.path), signer: signer)
        let message = try issueMessage()
        _ = try transport.makeSession().send(
            try message.encoded().bytes, from: message.from.address, to: message.to.address, reference: "ada")
        let written = try TestPaths.bytes(directory.appendingPathComponent("ada.eml"))
        #expect(try dkimpy(written).passed)
    }

    /// The endpoint's confirmation goes through the configuration's endpoint transport, signed.
    @Test func theEndpointsConfirmationMailIsSigned() async throws {
        let sink = try SMTPSink()
        var configuration = Configuration()
        configuration.smtp.url = sink.url
        configuration.smtp.allowPlaintext = true
        configuration.dkim.signer = signer
        let store = try AppDatabase.open(
            path: try TestPaths.temporaryDirectory().appendingPathComponent("n.sqlite").path)
        _ = try await store.requestSignup(
            try MailAddress("grace@example.org"), name: nil, client: .commandLine, policy: SignupPolicy(), at: Date())
        let queue = EndpointMailQueue(
            store: store, transport: configuration.endpointTransport(),
            templates: try TemplateSet.load(directory: TestPaths.repository.appendingPathComponent("templates").path),
            delivery: DeliverySettings(
                from: try MailAddress("digest@shiporskip.example"), listID: "weekly.shiporskip.example",
                publicURL: "https://news.shiporskip.example"),
            issue: IssueSettings(), policy: SignupPolicy(), logger: Logger(label: "test"), wakeup: Wakeup())
        #expect(await queue.drain() == 1)
        let dump = try #require(try FileManager.default.contentsOfDirectory(atPath: sink.dumps.path).first)
        let bytes = try TestPaths.bytes(sink.dumps.appendingPathComponent(dump))
        let result = try dkimpy(bytes)
        #expect(result.passed, "\(result.output)")
    }

    @Test func dkimCheckFindsItsOwnSignaturesValid() {
        let checks = signer.check()
        #expect(checks.count == 2 && checks.allSatisfy(\.verifies))
    }

    /// The record splits the key into strings of at most 255 characters (a 4096-bit key does not fit in one).
    @Test func theZoneLineSplitsLongRecords() throws {
        let key = try DKIMKey.generate(selector: "big", algorithm: .rsaSHA256, bits: 4096).key
        let line = key.zoneLine(domain: "shiporskip.example")
        #expect(line.hasPrefix("big._domainkey.shiporskip.example. IN TXT ( \"v=DKIM1; k=rsa; p="))
        let strings = line.matches(of: /"([^"]*)"/).map { String($0.1) }
        #expect(strings.count >= 3 && strings.allSatisfy { $0.count <= 255 })
        #expect(strings.joined() == key.dnsRecord(domain: "shiporskip.example").value)
    }
}
