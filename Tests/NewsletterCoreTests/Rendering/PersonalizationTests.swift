import Foundation
import Testing

@testable import NewsletterCore

struct PersonalizationTests {
    @Test func everySpecialCharacterIsEscapedEvenWhenAMarkFollowsIt() {
        #expect(HTML.escape("<b>Ada & \"Bo\" O'Neil</b>") == "&lt;b&gt;Ada &amp; &quot;Bo&quot; O&#39;Neil&lt;/b&gt;")
        // `"` and a combining acute accent are one Character in Swift; a browser still sees the
        // quote and would end an attribute there.
        #expect(HTML.escape("x\"\u{301} onmouseover=alert(1)") == "x&quot;\u{301} onmouseover=alert(1)")
        #expect(HTML.escape("<\u{338}&\u{301}'\u{301}>\u{301}") == "&lt;\u{338}&amp;\u{301}&#39;\u{301}&gt;\u{301}")
        #expect(HTML.escape("Zoë 🚀 日本") == "Zoë 🚀 日本")
        #expect(HTML.escape("") == "")
    }

    @Test(arguments: [
        ("Ada", "Hi Ada,"), ("  Ada Lovelace\t", "Hi Ada Lovelace,"), ("\u{00A0}Zoë\u{3000}", "Hi Zoë,"),
        ("José\u{301}", "Hi José\u{301},"), ("\n", "Hi there,"), ("", "Hi there,"), ("\u{2003}", "Hi there,"),
    ])
    func theGreetingUsesTheNameWithoutSurroundingWhiteSpace(name: String, greeting: String) {
        let personalization = Personalization(name: name, unsubscribeURL: "https://u/1", preferencesURL: "https://p/1")
        #expect(personalization.greeting == greeting)
    }

    @Test func aReaderWithoutANameIsGreetedAll() {
        #expect(Personalization(name: nil, unsubscribeURL: "u", preferencesURL: "p").greeting == "Hi there,")
    }
}
