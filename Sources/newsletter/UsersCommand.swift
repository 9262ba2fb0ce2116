import ArgumentParser
import Foundation
import NewsletterCore

struct Users: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The editor users: who may see, edit and approve in the editor pages.",
        discussion: """
            A viewer sees; an editor also edits, rebuilds, test-sends and approves; an owner also \
            manages users. Once an owner exists the shared editor token is refused in the \
            editor pages: log in at /editor/login instead. The only owner cannot be removed or \
            given another role: make another user an owner first.
            """,
        subcommands: [Add.self, List.self, Remove.self, Role.self]
    )

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add an editor user with a password, read from the terminal or standard input (never an argument).",
            discussion: """
                On a terminal the password is asked twice without echo; otherwise the first line \
                of standard input is the password. 10 characters at least, 72 bytes at most. \
                With --invite no password is asked: a one-time link is printed for the user to \
                set their own (editor.invitation_hours, 72 by default).
                """)

        @OptionGroup var global: GlobalOptions
        @Argument(help: "The user's email address (their login).") var email: String
        @Option(help: "owner, editor or viewer.") var role: String
        @Flag(help: "Print a one-time link that sets the password, instead of asking for one.") var invite = false

        func validate() throws {
            do {
                _ = try MailAddress(email)
                _ = try EditorRole(parsing: role)
            } catch { throw ValidationError("\(error)") }
        }

        func run() async throws {
            let role = try EditorRole(parsing: role)
            if invite {
                let context = try global.components()
                try await context.withStore { store in
                    let admin = EditorUserAdmin(store: store, settings: context.configuration.editor, time: SystemTime())
                    let (user, token) = try await admin.invite(email: email, role: role, actor: "cli")
                    let base = context.configuration.issue.publicURL
                    print("\(user.email) invited (\(user.role.rawValue)); the link works once, for \(context.configuration.editor.invitationHours) hours:")
                    print((base.hasSuffix("/") ? String(base.dropLast()) : base) + "/editor/invite/" + token)
                }
                return
            }
            let password = try PasswordInput.read()
            // Refused before the store is opened: a bad password changes nothing.
            try EditorPassword.check(password)
            let context = try global.components()
            try await context.withStore { store in
                let admin = EditorUserAdmin(store: store, settings: context.configuration.editor, time: SystemTime())
                let user = try await admin.add(email: email, role: role, password: password, actor: "cli")
                print("\(user.email) added (\(user.role.rawValue)); they log in at /editor/login")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the editor users and their roles.")

        @OptionGroup var global: GlobalOptions
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            try await global.components().withStore { store in
                let users = try await store.editorUsers()
                if json {
                    print(try JSONOutput.string(users))
                    return
                }
                if users.isEmpty {
                    print("No editor users: the editor token (if set) opens the editor pages.")
                }
                for user in users {
                    print("\(user.email)\t\(user.role.rawValue)\(user.hasPassword ? "" : "\t(invited, no password yet)")")
                }
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove an editor user and end their sessions.")

        @OptionGroup var global: GlobalOptions
        @Argument(help: "The user's email address.") var email: String

        func run() async throws {
            let context = try global.components()
            try await context.withStore { store in
                try await EditorUserAdmin(store: store, settings: context.configuration.editor, time: SystemTime())
                    .remove(email: email, actor: "cli")
                print("\(email) removed")
            }
        }
    }

    struct Role: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Change an editor user's role.")

        @OptionGroup var global: GlobalOptions
        @Argument(help: "The user's email address.") var email: String
        @Argument(help: "owner, editor or viewer.") var role: String

        func validate() throws {
            do { _ = try EditorRole(parsing: role) } catch { throw ValidationError("\(error)") }
        }

        func run() async throws {
            let role = try EditorRole(parsing: role)
            let context = try global.components()
            try await context.withStore { store in
                try await EditorUserAdmin(store: store, settings: context.configuration.editor, time: SystemTime())
                    .setRole(email: email, role: role, actor: "cli")
                print("\(email) is now \(role.rawValue)")
            }
        }
    }
}

/// A password from the terminal (asked twice, not echoed) or the first line of standard input.
enum PasswordInput {
    static func read() throws -> String {
        if isatty(STDIN_FILENO) == 1 {
            let first = try prompt("Password: ")
            guard try prompt("Again: ") == first else {
                throw CommandError(.usage, "the two passwords differ; nothing was stored")
            }
            return first
        }
        guard let line = readLine(strippingNewline: true) else {
            throw CommandError(.usage, "no password on standard input (one line), and no terminal to ask on")
        }
        return line
    }

    private static func prompt(_ text: String) throws -> String {
        guard let entered = getpass(text) else { throw CommandError(.usage, "could not read a password from the terminal") }
        return String(cString: entered)
    }
}
