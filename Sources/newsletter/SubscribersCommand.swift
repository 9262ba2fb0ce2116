import ArgumentParser
import Foundation
import NewsletterCore

struct Subscribers: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage subscribers from the command line.",
        subcommands: [Add.self, List.self, Remove.self, Import.self, Export.self, ExportOne.self, Erase.self]
    )

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a subscriber (confirmed: the editor vouches for the address).")

        @OptionGroup var global: GlobalOptions
        @Argument(help: "The email address.") var email: String
        @Option(help: "The subscriber's name, for the greeting.") var name: String?
        @Option(help: "pending or confirmed.") var status: String = "confirmed"

        func validate() throws {
            do { _ = try MailAddress(email, displayName: name) } catch { throw ValidationError("\(error)") }
            guard ["pending", "confirmed"].contains(status) else {
                throw ValidationError("--status: pending or confirmed")
            }
        }

        func run() async throws {
            try await global.components().withStore { store in
                let subscriber: Subscriber
                do {
                    subscriber = try await store.addSubscriber(
                        email: email, name: name, status: Subscriber.Status(rawValue: status)!)
                } catch let error as AddressSuppressed {
                    throw CommandError(.partialFailure, "\(error)")
                }
                print("#\(subscriber.id) \(subscriber.email) (\(subscriber.status.rawValue))")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List subscribers.")

        @OptionGroup var global: GlobalOptions

        func run() async throws {
            try await global.components().withStore { store in
                var after: Int64 = 0
                while true {
                    let page = try await store.subscribers(status: nil, afterID: after, limit: 500)
                    for subscriber in page {
                        print(
                            "#\(subscriber.id)\t\(subscriber.email)\t\(subscriber.status.rawValue)\t\(subscriber.name ?? "")"
                        )
                    }
                    guard let last = page.last else { break }
                    after = last.id
                }
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete a subscriber with their tokens, consent trail and delivery rows (to be forgotten).",
            discussion: "To stop mail but keep the record, have them unsubscribe instead.")

        @OptionGroup var global: GlobalOptions
        @Argument(help: "The email address.") var email: String

        func run() async throws {
            try await global.components().withStore { store in
                guard try await store.removeSubscriber(email: email.trimmingCharacters(in: .whitespaces)) else {
                    throw CommandError(
                        .partialFailure, "\(email) is not a subscriber; `newsletter subscribers list` shows who is")
                }
                print("removed \(email)")
            }
        }
    }

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import subscribers from a CSV file (email[,name][,topics], header row optional) as confirmed.",
            discussion: """
                Idempotent: an address already in the store is left as it is, so an unsubscribe is \
                never undone by importing an old list. Bad rows are reported by line number and the \
                rest are imported (exit status 1 if any row was refused). Only import people who \
                agreed to receive the list; each import is recorded in their consent trail.
                """)

        @OptionGroup var global: GlobalOptions
        @Argument(help: "The CSV file.") var file: String

        func run() async throws {
            let context = try global.components()
            let text: String
            do {
                text = try String(contentsOfFile: file, encoding: .utf8)
            } catch {
                throw CommandError(.partialFailure, "cannot read \(file) as UTF-8 text: \(error.localizedDescription)")
            }
            try await context.withStore { store in
                let (parsed, parseErrors) = SubscriberCSV.parse(text)
                let summary = try await SubscriberImport.run(
                    parsed, parseErrors: parseErrors, store: store, aliases: context.configuration.issue.topics,
                    source: { "\(file):\($0.line)" }, at: Date())
                let (added, known, errors) = (summary.added, summary.known, summary.refused)
                for error in errors { Terminal.printError("\(file):\(error.line): \(error.message)") }
                print("\(added) added, \(known) already known, \(errors.count) refused")
                context.logger.info(
                    "import finished",
                    metadata: [
                        "file": "\(file)", "added": "\(added)", "known": "\(known)",
                        "refused": "\(errors.count)",
                    ])
                if !errors.isEmpty { throw ExitStatus.partialFailure }
            }
        }
    }

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Print every subscriber as CSV: email, name, status, format, paused, created_at, confirmed_at, topics.")

        @OptionGroup var global: GlobalOptions

        func run() async throws {
            try await global.components().withStore { store in
                print(SubscriberCSV.header)
                var after: Int64 = 0
                while true {
                    let page = try await store.subscribers(status: nil, afterID: after, limit: 500)
                    let topics = try await store.topicChoices(subscriberIDs: page.map(\.id))
                    for subscriber in page {
                        print(SubscriberCSV.line(subscriber, topics: topics[subscriber.id] ?? .everything))
                    }
                    guard let last = page.last else { break }
                    after = last.id
                }
            }
        }
    }

    struct ExportOne: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "export-one",
            abstract: "Print what the list holds about one reader as JSON (what their preferences page downloads).")

        @OptionGroup var global: GlobalOptions
        @Argument(help: "The email address.") var email: String

        func run() async throws {
            try await global.components().withStore { store in
                guard let data = try await store.readerData(email: email.trimmingCharacters(in: .whitespaces)) else {
                    throw CommandError(
                        .partialFailure, "\(email) is not a subscriber; `newsletter subscribers list` shows who is")
                }
                print(String(decoding: try data.json(), as: UTF8.self))
            }
        }
    }

    struct Erase: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Erase a reader's personal data at their request, keeping only a keyed hash of the address.",
            discussion: """
                Deletes the subscriber with their consent trail, tokens, bounces' link to them, per-reader \
                clicks and pending mail, keeps their delivery rows without who they were (the issue reports \
                keep their counts), and puts the address's keyed hash on the suppression list: imports, \
                `subscribers add` and the API then refuse it, until its owner signs up again through the \
                form and confirms. One transaction; running it again changes nothing.
                """)

        @OptionGroup var global: GlobalOptions
        @Argument(help: "The email address.") var email: String

        func run() async throws {
            try await global.components().withStore { store in
                switch try await store.erase(email: email, actor: "cli") {
                case .erased(let address): print("erased \(address)")
                case .alreadyErased: print("\(email) was already erased (its hash is on the suppression list)")
                case .unknown:
                    throw CommandError(
                        .partialFailure,
                        "\(email) is not a subscriber and was never erased; `newsletter subscribers list` shows who is")
                }
            }
        }
    }
}
