import Foundation
import NewsletterCore
import Testing

struct TemplateSetTests {
    func directory(_ files: [String: String]) throws -> URL {
        let directory = try TestPaths.temporaryDirectory()
        for (name, contents) in files {
            let url = directory.appendingPathComponent(name)
            try FileManager.default.createDirectory(
                at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try contents.write(to: url, atomically: true, encoding: .utf8)
        }
        return directory
    }

    @Test func theProjectTemplatesLoad() throws {
        let templates = try TemplateSet.load(directory: TestPaths.repository.appendingPathComponent("templates").path)
        #expect(!templates.render(["comparisons": []], template: "issue.html").isEmpty)
    }

    @Test func aTemplatesDirectoryThatIsASymbolicLinkLoads() throws {
        let link = try TestPaths.temporaryDirectory().appendingPathComponent("templates")
        try FileManager.default.createSymbolicLink(
            at: link, withDestinationURL: TestPaths.repository.appendingPathComponent("templates"))
        let templates = try TemplateSet.load(directory: link.path)
        #expect(!templates.render(["comparisons": []], template: "issue.html").isEmpty)
    }

    @Test func aMissingDirectoryIsNamed() {
        #expect(throws: TemplateError.missingDirectory("/nonexistent/templates")) {
            try TemplateSet.load(directory: "/nonexistent/templates")
        }
    }

    @Test func aMissingTemplateIsNamed() throws {
        let directory = try directory(["issue.html.mustache": "<p>{{subject}}</p>"])
        #expect(throws: TemplateError.missingTemplate(name: "issue.txt.mustache", directory: directory.path)) {
            try TemplateSet.load(directory: directory.path)
        }
    }

    @Test func aSyntaxErrorNamesTheFileAndLine() throws {
        let directory = try directory([
            "issue.html.mustache": "<p>\n{{#comparisons}}\n{{title}}\n{{/comparison}}\n</p>",
            "issue.txt.mustache": "{{subject}}",
        ])
        #expect {
            try TemplateSet.load(directory: directory.path)
        } throws: { error in
            guard case .syntax(let file, let line, _, _) = error as? TemplateError else { return false }
            return file.hasSuffix("issue.html.mustache") && line == 4
        }
    }

    @Test(arguments: ["\n", "\r\n"])
    func anUnknownPartialNamesTheFileAndLine(_ newline: String) throws {
        let directory = try directory([
            "issue.html.mustache": ["<p>", "{{> partials/header.html}}", "{{> partials/missing.html}}</p>"].joined(
                separator: newline),
            "issue.txt.mustache": "{{subject}}",
            "partials/header.html.mustache": "<h1>{{listName}}</h1>",
        ])
        #expect {
            try TemplateSet.load(directory: directory.path)
        } throws: { error in
            guard case .unknownPartial(let file, let line, let name) = error as? TemplateError else { return false }
            return file.hasSuffix("issue.html.mustache") && line == 3 && name == "partials/missing.html"
        }
    }

    @Test func htmlTemplatesEscapeAndTextTemplatesDoNot() throws {
        let directory = try directory([
            "issue.html.mustache": "<p>{{title}}</p>",
            "issue.txt.mustache": "{{% CONTENT_TYPE: TEXT}}\n{{title}}",
        ])
        let templates = try TemplateSet.load(directory: directory.path)
        let context = ["title": "<script>alert('x')</script> & co"]
        #expect(
            templates.render(context, template: "issue.html")
                == "<p>&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; co</p>")
        #expect(templates.render(context, template: "issue.txt").contains("<script>alert('x')</script> & co"))
    }
}
