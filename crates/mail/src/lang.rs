//! A deliberately simple language guess: `ja` when kana/kanji make up a noticeable share of the
//! letters (and some kana is present), `en` when Latin letters dominate and common English words
//! occur, `other` otherwise, `unknown` for (nearly) empty text.

const ENGLISH: &[&str] = &[
    "the", "and", "you", "your", "to", "of", "is", "for", "please", "this", "with", "account",
];

pub fn guess(text: &str) -> &'static str {
    let (mut kana, mut kanji, mut latin, mut other) = (0usize, 0usize, 0usize, 0usize);
    for c in text.chars().take(200_000) {
        match c {
            '\u{3040}'..='\u{30ff}' | '\u{ff66}'..='\u{ff9f}' => kana += 1,
            '\u{4e00}'..='\u{9fff}' | '\u{3400}'..='\u{4dbf}' => kanji += 1,
            'a'..='z' | 'A'..='Z' => latin += 1,
            c if c.is_alphabetic() => other += 1,
            _ => {}
        }
    }
    let total = kana + kanji + latin + other;
    if total < 3 {
        return "unknown";
    }
    if kana > 0 && ((kana + kanji) * 100 / total >= 15 || kana + kanji >= 30) {
        return "ja";
    }
    if latin * 100 / total >= 70 {
        // One common English word is enough; stop at the first.
        let english = text
            .split(|c: char| !c.is_ascii_alphabetic())
            .take(20_000)
            .any(|w| {
                (2..=7).contains(&w.len()) && ENGLISH.iter().any(|e| w.eq_ignore_ascii_case(e))
            });
        if english {
            return "en";
        }
    }
    "other"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guesses() {
        assert_eq!(guess("お世話になっております。請求書を送付します。"), "ja");
        assert_eq!(guess("Please verify your account at the link below."), "en");
        assert_eq!(guess("Bitte bestätigen Sie Ihr Konto"), "other");
        assert_eq!(guess("  12 "), "unknown");
        assert_eq!(guess("Invoice 請求書のご送付について"), "ja");
    }
}
