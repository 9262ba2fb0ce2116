import Foundation

/// Signs every message on its way into the transport it wraps, so whatever goes out (issues,
/// test sends, editor previews, confirmations and welcomes, `.eml` files) carries the signature.
public struct DKIMSigningTransport: MailTransport {
    public var inner: any MailTransport
    public var signer: DKIMSigner
    /// The signature's `t=`.
    public var now: @Sendable () -> Date

    public init(inner: any MailTransport, signer: DKIMSigner, now: @escaping @Sendable () -> Date = { Date() }) {
        self.inner = inner
        self.signer = signer
        self.now = now
    }

    public var name: String { inner.name }

    public func makeSession() throws(TransportUnavailable) -> any MailSession {
        Session(inner: try inner.makeSession(), signer: signer, now: now)
    }

    final class Session: MailSession {
        let inner: any MailSession
        let signer: DKIMSigner
        let now: @Sendable () -> Date

        init(inner: any MailSession, signer: DKIMSigner, now: @escaping @Sendable () -> Date) {
            self.inner = inner
            self.signer = signer
            self.now = now
        }

        func send(_ message: [UInt8], from: String, to: String, reference: String) throws(TransportUnavailable)
            -> SendOutcome
        {
            let signed: [UInt8]
            do {
                signed = try signer.sign(message, at: now())
            } catch {
                // Unsigned mail would be binned by the receivers that matter: stop instead.
                throw TransportUnavailable(reason: "DKIM signing failed: \(error)")
            }
            return try inner.send(signed, from: from, to: to, reference: reference)
        }

        func close() { inner.close() }
    }
}
