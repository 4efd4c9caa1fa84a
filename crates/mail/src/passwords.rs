//! Candidate passwords for encrypted archives, taken from message text (the PPAP habit: the
//! archive in one mail, "パスワード: xxxx" in the same or a companion mail, which Emotet reused
//! in Japan). Labelled values come first (the text after パスワード / password / PW / 解凍 /
//! 暗証 labels on the same line, or the next non-empty line), then other 4-32 character
//! printable-ASCII tokens on the label lines and the two lines after them.

const LABELS: &[&str] = &[
    "パスワード",
    "ﾊﾟｽﾜｰﾄﾞ",
    "password",
    "passwd",
    "pass word",
    "passcode",
    "pw",
    "pwd",
    "解凍",
    "暗証",
    "暗号",
    "パス",
    "密码",
    "kennwort",
    "mot de passe",
    "contraseña",
];

/// Candidates in priority order, without duplicates, at most `max`.
pub fn candidates<'a>(texts: impl IntoIterator<Item = &'a str>, max: usize) -> Vec<String> {
    let mut labelled = Vec::new();
    let mut nearby = Vec::new();
    for text in texts {
        let lines: Vec<&str> = text.lines().take(5000).collect();
        for (n, line) in lines.iter().enumerate() {
            let lower = line.to_lowercase();
            let Some((pos, label)) = LABELS
                .iter()
                .filter_map(|l| find_label(&lower, l).map(|p| (p, *l)))
                .min_by_key(|(p, _)| *p)
            else {
                continue;
            };
            let after = lower_to_orig(line, &lower, pos + label.len());
            let value = after
                .trim_start_matches(|c: char| {
                    c.is_whitespace()
                        || matches!(
                            c,
                            ':' | '：'
                                | '='
                                | '】'
                                | '」'
                                | '』'
                                | ')'
                                | '）'
                                | '>'
                                | '＞'
                                | '-'
                                | '→'
                                | '≫'
                                | '》'
                        )
                        || matches!(c, 'は' | 'を' | 'が' | 'の')
                })
                .trim_start_matches(['【', '「', '『', '(', '（', '"', '\''])
                .trim_start_matches([':', '：', ' ', '　']);
            if let Some(tok) = first_token(value) {
                labelled.push(tok);
            } else if let Some(next) = lines[n + 1..].iter().find(|l| !l.trim().is_empty())
                && let Some(tok) = first_token(next.trim())
            {
                labelled.push(tok);
            }
            for l in lines.iter().skip(n).take(3) {
                nearby.extend(tokens(l));
            }
        }
    }
    let mut out: Vec<String> = Vec::new();
    for c in labelled.into_iter().chain(nearby) {
        if out.len() >= max {
            break;
        }
        if !out.contains(&c) {
            out.push(c);
        }
    }
    out
}

fn find_label(lower: &str, label: &str) -> Option<usize> {
    let pos = lower.find(label)?;
    // ASCII labels must not be the inside of a word ("pw" in "upward").
    if label.is_ascii() {
        let before = lower[..pos].chars().next_back();
        let after = lower[pos + label.len()..].chars().next();
        if before.is_some_and(|c| c.is_ascii_alphanumeric())
            || after.is_some_and(|c| c.is_ascii_alphabetic())
        {
            return None;
        }
    }
    Some(pos)
}

/// `to_lowercase` can change byte lengths for non-ASCII; map an offset conservatively.
fn lower_to_orig<'a>(orig: &'a str, lower: &str, pos: usize) -> &'a str {
    if orig.len() == lower.len() {
        orig.get(pos..).unwrap_or("")
    } else {
        let chars = lower.get(..pos).map_or(0, |p| p.chars().count());
        orig.char_indices()
            .nth(chars)
            .map_or("", |(i, _)| &orig[i..])
    }
}

fn is_pw_char(c: char) -> bool {
    c.is_ascii_graphic()
}

fn first_token(s: &str) -> Option<String> {
    let tok: String = s.chars().take_while(|c| is_pw_char(*c)).collect();
    let tok = tok
        .trim_end_matches(['。', '、', ')', '）', '」', '】'])
        .to_owned();
    (4..=32).contains(&tok.len()).then_some(tok)
}

fn tokens(line: &str) -> Vec<String> {
    line.split(|c: char| !is_pw_char(c))
        .map(|t| {
            t.trim_matches(|c: char| matches!(c, '.' | ',' | ':' | ';' | '"' | '\'' | '(' | ')'))
        })
        .filter(|t| (4..=32).contains(&t.len()))
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ppap_styles() {
        let c = candidates(
            ["先ほどお送りしたファイルのパスワードをお知らせします。\n\nパスワード：Xy7#kP2q\n"],
            10,
        );
        assert_eq!(c.first().map(String::as_str), Some("Xy7#kP2q"));
        let c = candidates(["解凍パスワードは「abcd1234」です。"], 10);
        assert_eq!(c.first().map(String::as_str), Some("abcd1234"));
        let c = candidates(["Password:\n\n  s3cr3t!\n"], 10);
        assert_eq!(c.first().map(String::as_str), Some("s3cr3t!"));
        let c = candidates(["PW: 2025Q1"], 10);
        assert_eq!(c, ["2025Q1"]);
        assert!(candidates(["nothing here upward"], 10).is_empty());
    }
}
