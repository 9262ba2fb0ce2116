import Foundation
import Testing

/// `newsletter subscribers export-one` and `erase`, and an import meeting an erased address.
struct ReaderDataCommandTests {
    @Test func theCLIExportsOneReaderErasesThemAndAnImportNamesTheLineOfAnErasedAddress() async throws {
        let cli = try CommandLineTests()
        #expect(try await cli.run(["subscribers", "add", "ada@example.org", "--name", "Ada"]).status == 0)
        #expect(try await cli.run(["subscribers", "add", "bob@example.org"]).status == 0)

        let export = try await cli.run(["subscribers", "export-one", "ADA@example.org"])
        #expect(export.status == 0)
        let json = try JSONSerialization.jsonObject(with: Data(export.stdout.utf8)) as? [String: Any]
        #expect((json?["subscriber"] as? [String: Any])?["email"] as? String == "ada@example.org")
        #expect(!export.stdout.contains("bob@"))

        let erased = try await cli.run(["subscribers", "erase", "ada@example.org"])
        #expect(erased.status == 0 && erased.stdout.contains("erased ada@example.org"))
        let again = try await cli.run(["subscribers", "erase", "ada@example.org"])
        #expect(again.status == 0 && again.stdout.contains("already erased"))
        let unknown = try await cli.run(["subscribers", "erase", "nobody@example.org"])
        #expect(unknown.status == 1 && unknown.stderr.contains("not a subscriber and was never erased"))
        let gone = try await cli.run(["subscribers", "export-one", "ada@example.org"])
        #expect(gone.status == 1 && gone.stderr.contains("is not a subscriber"))

        let csv = cli.directory.appendingPathComponent("old.csv")
        try "email,name\ncy@example.org,Cy\nAda@Example.org,Ada\n".write(to: csv, atomically: true, encoding: .utf8)
        let imported = try await cli.run(["subscribers", "import", csv.path])
        #expect(imported.status == 1)
        #expect(imported.stdout.contains("1 added, 0 already known, 1 refused"))
        #expect(imported.stderr.contains("old.csv:3: Ada@Example.org was erased at its owner's request"))
        let added = try await cli.run(["subscribers", "add", "ada@example.org"])
        #expect(added.status == 1 && added.stderr.contains("suppression list"))
    }
}
