import Foundation
import NewsletterCore
import Testing

/// STARTTLS and AUTH against aiosmtpd, which requires both.
@Suite(.enabled(if: AiosmtpdServer.python != nil, "aiosmtpd is not set up (scripts/setup-test-peers.sh)"))
struct StartTLSTests {
    func send(through settings: SMTPTransport.Settings) throws -> SendOutcome {
        let session = try SMTPTransport(settings: settings).makeSession()
        let message = OutgoingMessage(
            from: try MailAddress("digest@shiporskip.example"), to: try MailAddress("ada@example.org"),
            subject: "TLS check", text: "Hello over TLS\n", html: "<p>Hello over TLS</p>",
            listID: "weekly.shiporskip.example",
            unsubscribeURL: "https://news.example.org/unsubscribe/x")
        return try session.send(
            try message.encoded().bytes, from: "digest@shiporskip.example", to: "ada@example.org", reference: "x")
    }

    @Test func aMessageGoesThroughSTARTTLSWithAuthentication() throws {
        let server = try AiosmtpdServer()
        var settings = SMTPTransport.Settings(
            url: server.url, username: AiosmtpdServer.user, password: AiosmtpdServer.password)
        settings.caFile = server.caFile
        let outcome = try send(through: settings)
        #expect(outcome == .sent(reply: "250 2.0.0 OK"))
        let messages = try server.messages()
        #expect(messages.count == 1)
        #expect(messages.first?.contains("X-Envelope-To: ada@example.org") == true)
        #expect(messages.first?.contains("Subject: TLS check") == true)
    }

    @Test func smtpsSpeaksTLSFromTheFirstByte() throws {
        let server = try AiosmtpdServer(implicitTLS: true)
        var settings = SMTPTransport.Settings(
            url: server.url, username: AiosmtpdServer.user, password: AiosmtpdServer.password)
        settings.caFile = server.caFile
        #expect(try send(through: settings) == .sent(reply: "250 2.0.0 OK"))
        #expect(try server.messages().count == 1)
    }

    @Test func aRefusedPasswordStopsTheRun() throws {
        let server = try AiosmtpdServer()
        var settings = SMTPTransport.Settings(url: server.url, username: AiosmtpdServer.user, password: "wrong")
        settings.caFile = server.caFile
        settings.commandTimeoutSeconds = 3  // aiosmtpd never answers a wrong password
        #expect(throws: TransportUnavailable.self) { try send(through: settings) }
        #expect(try server.messages().isEmpty)
    }

    @Test func anUntrustedCertificateStopsTheRun() throws {
        let server = try AiosmtpdServer()
        let settings = SMTPTransport.Settings(
            url: server.url, username: AiosmtpdServer.user, password: AiosmtpdServer.password)
        #expect(throws: TransportUnavailable.self) { try send(through: settings) }  // self-signed, no caFile
        #expect(try server.messages().isEmpty)
    }
}
