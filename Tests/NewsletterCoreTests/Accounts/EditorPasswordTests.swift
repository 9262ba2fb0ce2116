import Foundation
import Testing

@testable import NewsletterCore

/// Editor passwords: bcrypt, and only passwords bcrypt reads whole.
struct EditorPasswordTests {
    let passwords = EditorPassword(cost: 4)

    @Test func aPasswordVerifiesAgainstItsHashAndNoOtherDoes() async throws {
        let hash = try await passwords.hash("correct horse battery")
        #expect(hash.hasPrefix("$2"))
        #expect(try await passwords.verify("correct horse battery", hash: hash))
        #expect(try await passwords.verify("correct horse batterz", hash: hash) == false)
    }

    @Test func aPasswordOfOneMegabyteIsRefusedNamingTheLimitAndNeverHashed() async throws {
        let huge = String(repeating: "a", count: 1 << 20)
        await #expect(throws: EditorAccountError.passwordTooLong(bytes: 1 << 20)) { try await passwords.hash(huge) }
        #expect("\(EditorAccountError.passwordTooLong(bytes: 1 << 20))".contains("at most 72"))
        // bcrypt would read its first 72 bytes: a hash of those must not let the long one in.
        let hash = try await passwords.hash(String(repeating: "a", count: 72))
        #expect(try await passwords.verify(String(repeating: "a", count: 72), hash: hash))
        #expect(try await passwords.verify(huge, hash: hash) == false)
        #expect(try await passwords.verify(String(repeating: "a", count: 73), hash: hash) == false)
    }

    @Test func aPasswordTooShortOrWithANULIsRefused() async throws {
        await #expect(throws: EditorAccountError.passwordTooShort(characters: 5)) { try await passwords.hash("short") }
        await #expect(throws: EditorAccountError.passwordHasNUL) { try await passwords.hash("abcdefghij\0klm") }
        // Counted in bytes: 24 four-byte characters are 96 bytes.
        await #expect(throws: EditorAccountError.passwordTooLong(bytes: 96)) {
            try await passwords.hash(String(repeating: "𝄞", count: 24))
        }
    }
}
