import Foundation

/// Everyday English an editor paraphrases with (verbs, adjectives, adverbs and general nouns): a
/// word from this list is never a specific claim on its own, so two of them in a row that the
/// page lacks ("gets better", "soon offer") are not an invented feature. A general list, not one
/// drawn from any page.
enum CommonWords {
    static let all = Set<String>([
        // verbs
        "gets", "get", "getting", "goes", "going", "gone", "went", "come", "comes", "coming", "came", "give", "gives",
        "giving", "gave", "take", "takes", "taking", "took", "keep", "keeps", "kept", "stay", "stays", "stayed",
        "become", "becomes", "became", "seem", "seems", "seemed", "look", "looks", "looked", "find", "finds",
        "found", "offer", "offers", "offered", "match", "matches", "matched", "beat", "beats", "need", "needs",
        "needed", "want", "wants", "wanted", "like", "likes", "liked", "love", "loves", "hate", "hates", "back",
        "backs", "backed", "win", "wins", "won", "lose", "loses", "lost", "pay", "pays", "paid", "paying", "cost",
        "costs", "fear", "fears", "fearing", "feared", "hope", "hopes", "expect", "expects", "believe",
        "believes", "call", "calls", "called", "doubt", "doubts", "trust", "trusts", "warn", "warns", "warned",
        "note", "notes", "noting", "noted", "point", "points", "pointing", "argue", "argues", "credit", "credits",
        "praise", "praises", "bet", "bets", "betting", "worry", "worries", "drop", "drops", "dropped", "move",
        "moves", "moved", "moving", "turn", "turns", "turned", "cut", "cuts", "save", "saves", "saved", "help",
        "helps", "helped", "stop", "stops", "stopped", "start", "starts", "started", "work", "works", "worked",
        "working", "run", "runs", "running", "ran", "show", "shows", "showed", "shown", "hold", "holds", "held",
        "cover", "covers", "covered", "fit", "fits", "fitting", "lack", "lacks", "lacking", "reach", "reaches",
        "watch", "watches", "watched", "serve", "serves", "served", "earn", "earns", "earned", "land", "lands",
        "rest", "rests", "remain", "remains", "stand", "stands", "fall", "falls", "reason", "reasons", "sees",
        "seen", "saw", "says", "tell", "tells", "told", "think", "thinks", "thought", "feel", "feels", "felt",
        "mean", "means", "meant", "struggle", "struggles", "struggling", "fail", "fails", "failed", "succeed",
        "succeeds", "choose", "chooses", "chose", "choice", "pick", "picks", "picked", "handle", "handles",
        "leave", "leaves", "left", "bring", "brings", "brought", "build", "builds", "built", "spend", "spends",
        "spent", "write", "writes", "wrote", "written", "read", "reads", "use", "uses", "used", "using", "make",
        "stays", "rely", "relies", "depend", "depends", "wait", "waits", "deserve", "deserves", "welcome",
        "welcomes", "miss", "misses", "missed", "enable", "enables", "let", "lets", "allow", "allows",
        // adjectives and adverbs
        "good", "better", "best", "bad", "worse", "worst", "great", "real", "really", "true", "truly", "clear",
        "clearly", "plain", "plainly", "simple", "simply", "easy", "easily", "hard", "quick", "quickly", "fast",
        "slow", "slowly", "soon", "later", "early", "late", "already", "still", "yet", "again", "ever", "never",
        "always", "often", "rarely", "mainly", "mostly", "largely", "partly", "fully", "nearly", "almost", "barely",
        "only", "just", "also", "too", "enough", "quite", "rather", "fairly", "pretty", "well", "poorly", "badly",
        "whole", "entire", "full", "main", "chief", "major", "minor", "real", "own", "same", "different", "other",
        "new", "old", "young", "long", "short", "high", "low", "big", "small", "large", "little", "wide", "narrow",
        "strong", "weak", "safe", "risky", "cheap", "costly", "free", "open", "closed", "ready", "able", "unable",
        "likely", "unlikely", "possible", "impossible", "useful", "useless", "worth", "worthwhile", "sound", "solid",
        "fine", "right", "wrong", "certain", "sure", "unsure", "obvious", "beyond", "within", "without", "against",
        "across", "along", "ahead", "behind", "away", "instead", "despite", "unless", "until", "whose", "whom",
        "every", "everyone", "everything", "anyone", "anything", "nobody", "nothing", "someone", "something",
        "today", "tomorrow", "yesterday", "year", "years", "month", "months", "week", "weeks", "time", "times",
        "four", "five", "three", "seven", "eight", "nine", "twelve", "dozen", "half", "single", "double", "twice",
        "once", "first", "second", "third", "last", "next", "previous", "final", "finally",
        "automatically", "automatic", "directly", "quietly", "actually", "currently", "usually", "especially",
        "locally", "properly", "entirely", "exactly", "update", "updates", "updating", "updated", "maintain",
        "maintains", "maintaining", "improve", "improves", "improving", "improved", "change", "changes",
        "changing", "changed", "grow", "grows", "growing", "share", "shares", "sharing",
        // general nouns of a review
        "thing", "things", "part", "parts", "side", "sides", "case", "cases", "way", "ways", "kind", "sort", "lot",
        "deal", "idea", "ideas", "point", "question", "answer", "answers", "problem", "problems", "issue", "issues",
        "reason", "result", "results", "people", "team", "teams", "user", "users", "company", "companies", "world",
        "place", "places", "line", "lines", "level", "levels", "step", "steps", "day", "days", "hand", "hands",
    ])
}
