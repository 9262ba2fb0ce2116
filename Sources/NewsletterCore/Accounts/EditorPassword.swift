import Foundation
import HummingbirdBcrypt
import NIOPosix

/// Editor passwords, hashed with bcrypt (hummingbird-auth). bcrypt reads only the first 72
/// bytes and stops at a NUL, so a longer password, or one with a NUL, is refused rather than
/// silently cut: two passwords that differ past byte 72 would otherwise be the same one. The
/// length is checked before anything else, so a 1 MB password costs nothing but the check.
public struct EditorPassword: Sendable {
    public static let maximumBytes = 72
    public static let minimumCharacters = 10
    /// bcrypt's work factor, log2 rounds (4...31): `editor.bcrypt_cost`, low in tests.
    public var cost: UInt8

    public init(cost: UInt8 = 12) {
        precondition((4...31).contains(cost), "bcrypt's cost is 4 to 31")
        self.cost = cost
    }

    /// Refuses a password bcrypt would not read whole, or one too short to be worth hashing.
    public static func check(_ password: String) throws(EditorAccountError) {
        let bytes = password.utf8.count
        guard bytes <= maximumBytes else { throw .passwordTooLong(bytes: bytes) }
        guard !password.utf8.contains(0) else { throw .passwordHasNUL }
        guard password.count >= minimumCharacters else { throw .passwordTooShort(characters: password.count) }
    }

    /// The bcrypt hash, made on NIO's thread pool: it is slow on purpose and would hold a
    /// cooperative thread the server's requests run on.
    public func hash(_ password: String) async throws -> String {
        try Self.check(password)
        let cost = cost
        return try await NIOThreadPool.singleton.runIfActive { Bcrypt.hash(password, cost: cost) }
    }

    /// Whether `password` is the one `hash` was made from; a password bcrypt would not read
    /// whole never matches (and is not hashed to find out).
    public func verify(_ password: String, hash: String) async throws -> Bool {
        guard password.utf8.count <= Self.maximumBytes, !password.utf8.contains(0) else { return false }
        return try await NIOThreadPool.singleton.runIfActive { Bcrypt.verify(password, hash: hash) }
    }

    /// A hash no password matches, verified against for an unknown address so that a login's
    /// time does not say whether the address is a user's.
    public func decoyHash() async throws -> String {
        let cost = cost
        return try await NIOThreadPool.singleton.runIfActive { Bcrypt.hash(LinkToken.make(), cost: cost) }
    }
}
