//! SQLite full-text search over events: FTS5 with the `unicode61` word tokenizer, and CJK text
//! (Japanese kana and kanji, Hangul) indexed as overlapping bigrams, the approach of Lucene's
//! CJK analyzer: a query for 「ログオン」 becomes the phrase 「ログ グオ オン」 and finds it inside
//! 「ログオン失敗」 although Japanese has no spaces between words. Word search costs a fraction of
//! a trigram index (measured in docs/benchmarks.md); the last query word matches as a prefix.

use std::borrow::Cow;

fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF     // hiragana, katakana
        | 0x3400..=0x4DBF   // CJK extension A
        | 0x4E00..=0x9FFF   // CJK unified ideographs
        | 0xF900..=0xFAFF   // compatibility ideographs
        | 0xAC00..=0xD7AF   // Hangul syllables
        | 0xFF66..=0xFF9F   // half-width katakana
        | 0x20000..=0x2FFFF)
}

/// The text as it is indexed: runs of CJK characters become space-separated bigrams.
pub fn index_text(s: &str) -> Cow<'_, str> {
    if s.is_ascii() || !s.chars().any(is_cjk) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() * 2);
    let mut run: Vec<char> = Vec::new();
    let flush = |run: &mut Vec<char>, out: &mut String| {
        match run.len() {
            0 => {}
            1 => {
                out.push(' ');
                out.push(run[0]);
                out.push(' ');
            }
            _ => {
                for w in run.windows(2) {
                    out.push(' ');
                    out.push(w[0]);
                    out.push(w[1]);
                }
                out.push(' ');
            }
        }
        run.clear();
    };
    for c in s.chars() {
        if is_cjk(c) {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    Cow::Owned(out)
}

/// The words of a text (CJK as bigrams), lower-case, separated by single spaces: what
/// PostgreSQL's `to_tsvector('simple', …)` indexes, so both backends split text alike.
pub fn index_words(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for_each_word(s, |w| {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(w);
    });
    out
}

/// Calls `f` with each word of [`index_words`], in order, without building the joined text.
pub fn for_each_word(s: &str, f: impl FnMut(&str)) {
    for_each_word_with(s, &mut String::new(), f);
}

/// [`for_each_word`] with a buffer for lower-cased words that the caller reuses across calls.
pub fn for_each_word_with(s: &str, buf: &mut String, mut f: impl FnMut(&str)) {
    let text = index_text(s);
    if text.is_ascii() {
        // Bytes are characters: split and lower-case without decoding.
        for w in text
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|w| !w.is_empty())
        {
            if w.bytes().any(|b| b.is_ascii_uppercase()) {
                buf.clear();
                buf.push_str(w);
                buf.make_ascii_lowercase();
                f(buf);
            } else {
                f(w);
            }
        }
        return;
    }
    for w in text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        buf.clear();
        buf.extend(w.chars().flat_map(char::to_lowercase));
        f(buf);
    }
}

/// A PostgreSQL `to_tsquery('simple', …)` for a user's text: its words as a phrase (`<->`),
/// the last one as a prefix. `None` when there is no word.
pub fn tsquery(q: &str) -> Option<String> {
    let words = index_words(q);
    if words.is_empty() {
        return None;
    }
    let ws: Vec<&str> = words.split(' ').collect();
    Some(format!("{}:*", ws.join(" <-> ")))
}

/// An FTS5 MATCH expression for a user's text: its words (and CJK bigrams) as one phrase, the
/// last word as a prefix. `None` when the text has no word to search for.
pub fn match_query(q: &str) -> Option<String> {
    let text = index_text(q);
    let words: Vec<&str> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    if words.is_empty() {
        return None;
    }
    Some(format!("\"{}\" *", words.join(" ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The word split as first written: decode, split on non-alphanumerics, lower-case each.
    fn reference_words(s: &str) -> String {
        let text = index_text(s);
        let mut out = String::new();
        for w in text
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
        {
            if !out.is_empty() {
                out.push(' ');
            }
            out.extend(w.chars().flat_map(char::to_lowercase));
        }
        out
    }

    proptest::proptest! {
        #[test]
        fn words_match_the_reference_split(s in "(\\PC|[A-Za-z0-9 ._-]|ログオン失敗){0,40}") {
            proptest::prop_assert_eq!(index_words(&s), reference_words(&s));
        }
    }

    #[test]
    fn cjk_runs_become_bigrams() {
        assert_eq!(index_text("powershell.exe -enc"), "powershell.exe -enc");
        assert_eq!(
            index_text("ログオン失敗 user=taro"),
            " ログ グオ オン ン失 失敗  user=taro"
        );
        assert_eq!(index_text("a山b"), "a 山 b");
    }

    #[test]
    fn postgres_words_match_sqlite_tokens() {
        assert_eq!(
            index_words("PowerShell.exe -enc 192.0.2.1"),
            "powershell exe enc 192 0 2 1"
        );
        assert_eq!(index_words("ログオン失敗"), "ログ グオ オン ン失 失敗");
        assert_eq!(
            tsquery("powershell.ex").as_deref(),
            Some("powershell <-> ex:*")
        );
        assert_eq!(tsquery("' & !").as_deref(), None);
    }

    #[test]
    fn queries_are_phrases_with_a_prefix() {
        assert_eq!(
            match_query("ログオン").as_deref(),
            Some("\"ログ グオ オン\" *")
        );
        assert_eq!(
            match_query("powershell.exe").as_deref(),
            Some("\"powershell exe\" *")
        );
        assert_eq!(match_query("\"; DROP"), Some("\"DROP\" *".to_owned()));
        assert_eq!(match_query(" .. "), None);
    }
}
