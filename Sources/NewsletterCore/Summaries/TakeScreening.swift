import Foundation

/// Takes that address a model or carry markup (issue 23): role labels ("SYSTEM:", "assistant:"),
/// "ignore … instructions", chat tokens (`<|im_start|>`, `[INST]`), tags, `javascript:`. Such a
/// take is a reviewer's text only in form: no step may quote it as the panel's reason or send it
/// to a model as material. It still shows, escaped, in the reviewer grid: the reader sees what
/// the page said.
public enum TakeScreening {
    /// What in `text` addresses a model or is markup, if anything: the first such words.
    public static func modelAddressing(in text: String) -> String? {
        for pattern in patterns {
            if let range = text.range(of: pattern, options: [.regularExpression, .caseInsensitive]) {
                return String(text[range])
            }
        }
        return nil
    }

    public static func addressesModel(_ text: String) -> Bool { modelAddressing(in: text) != nil }

    /// `comparison` without the takes that address a model or carry markup: what the fallback,
    /// the grammar step and the prompts may draw on.
    public static func screened(_ comparison: Comparison) -> Comparison {
        var screened = comparison
        screened.takes = comparison.takes.filter { !addressesModel($0.text) }
        return screened
    }

    static let patterns = [
        // A role label opening the text, a line or a sentence: "SYSTEM:", "assistant :".
        #"(^|[\n.!?"“(\[]\s*)(system|assistant|user|developer|human)\s*:"#,
        #"\b(ignore|disregard|forget|override)\b[^.!?\n]{0,60}\b(instructions?|prompts?|directions|system message)\b"#,
        #"\byou are (now )?(an? )?(ai|assistant|language model|chatbot)\b"#,
        #"<\|[^|>]{0,40}\|>"#, #"\[/?inst\]"#, #"<</?sys>>"#, #"</?s>"#, #"#{2,}\s*(instruction|system|response)"#,
        // Markup: an HTML tag or comment, a script URL.
        #"<\s*/?\s*[a-z][a-z0-9-]*(\s[^<>]*)?/?>"#, #"<!--"#, #"\bjavascript\s*:"#, #"\bdata\s*:\s*text/html"#,
    ]
}
