//! The Sigma `condition` language: `and`, `or`, `not`, parentheses, `1 of x*`, `all of them`.
//! Parsed into [`CondAst`], then resolved against the search names into an [`Expr`].

use super::eval::Expr;

/// A parsed condition, identifiers not yet resolved.
#[derive(Debug, Clone, PartialEq)]
pub enum CondAst {
    /// A search identifier.
    Ident(String),
    /// `not x`.
    Not(Box<CondAst>),
    /// `a and b`.
    And(Vec<CondAst>),
    /// `a or b`.
    Or(Vec<CondAst>),
    /// `1 of pattern` / `any of pattern` (pattern `them` = all searches).
    OneOf(String),
    /// `all of pattern`.
    AllOf(String),
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Open,
    Close,
    Pipe,
}

impl std::fmt::Display for Tok {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Tok::Word(w) => write!(f, "'{w}'"),
            Tok::Open => f.write_str("'('"),
            Tok::Close => f.write_str("')'"),
            Tok::Pipe => f.write_str("'|'"),
        }
    }
}

fn tokenize(s: &str) -> Vec<Tok> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let flush = |cur: &mut String, out: &mut Vec<Tok>| {
        if !cur.is_empty() {
            out.push(Tok::Word(std::mem::take(cur)));
        }
    };
    for c in s.chars() {
        match c {
            '(' | ')' | '|' => {
                flush(&mut cur, &mut out);
                out.push(match c {
                    '(' => Tok::Open,
                    ')' => Tok::Close,
                    _ => Tok::Pipe,
                });
            }
            c if c.is_whitespace() => flush(&mut cur, &mut out),
            c => cur.push(c),
        }
    }
    flush(&mut cur, &mut out);
    out
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
}

impl Parser {
    /// The error for a `|` at `self.pos`: the deprecated aggregation (`| count() ...`) or
    /// proximity (`| near ...`) expressions of Sigma 1.0.
    fn pipe_error(&self) -> String {
        match self.toks.get(self.pos + 1) {
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("near") => {
                "'| near' (deprecated) is unsupported; use a temporal correlation rule".into()
            }
            _ => "aggregation expressions ('| count() ...') are deprecated; use a correlation rule"
                .into(),
        }
    }

    fn peek_word(&self) -> Option<String> {
        match self.toks.get(self.pos) {
            Some(Tok::Word(w)) => Some(w.to_lowercase()),
            _ => None,
        }
    }

    fn or(&mut self) -> Result<CondAst, String> {
        let mut items = vec![self.and()?];
        while self.peek_word().as_deref() == Some("or") {
            self.pos += 1;
            items.push(self.and()?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            CondAst::Or(items)
        })
    }

    fn and(&mut self) -> Result<CondAst, String> {
        let mut items = vec![self.not()?];
        while self.peek_word().as_deref() == Some("and") {
            self.pos += 1;
            items.push(self.not()?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            CondAst::And(items)
        })
    }

    fn not(&mut self) -> Result<CondAst, String> {
        if self.peek_word().as_deref() == Some("not") {
            self.pos += 1;
            return Ok(CondAst::Not(Box::new(self.not()?)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<CondAst, String> {
        let tok = self.toks.get(self.pos).cloned();
        if tok == Some(Tok::Pipe) {
            return Err(self.pipe_error());
        }
        self.pos += 1;
        match tok {
            Some(Tok::Open) => {
                let e = self.or()?;
                match self.toks.get(self.pos) {
                    Some(Tok::Close) => {
                        self.pos += 1;
                        Ok(e)
                    }
                    _ => Err("missing ')' in condition".into()),
                }
            }
            Some(Tok::Word(w)) => {
                let lw = w.to_lowercase();
                if (lw == "1" || lw == "any" || lw == "all")
                    && self.peek_word().as_deref() == Some("of")
                {
                    self.pos += 1;
                    let target = match self.toks.get(self.pos) {
                        Some(Tok::Word(t)) => t.clone(),
                        _ => return Err(format!("'{w} of' needs a target")),
                    };
                    self.pos += 1;
                    return Ok(if lw == "all" {
                        CondAst::AllOf(target)
                    } else {
                        CondAst::OneOf(target)
                    });
                }
                if ["and", "or", "not", "of"].contains(&lw.as_str()) {
                    return Err(format!("unexpected '{w}' in condition"));
                }
                if lw.parse::<u32>().is_ok() && self.peek_word().as_deref() == Some("of") {
                    return Err(format!("'{w} of' is not supported (only 1/any/all of)"));
                }
                Ok(CondAst::Ident(w))
            }
            Some(Tok::Pipe) => Err(self.pipe_error()),
            Some(Tok::Close) => Err("unexpected ')' in condition".into()),
            None => Err("condition ends unexpectedly".into()),
        }
    }
}

/// Parses a condition string.
pub fn parse_condition(s: &str) -> Result<CondAst, String> {
    let mut p = Parser {
        toks: tokenize(s),
        pos: 0,
    };
    if p.toks.is_empty() {
        return Err("empty condition".into());
    }
    let e = p.or()?;
    match p.toks.get(p.pos) {
        None => Ok(e),
        Some(Tok::Pipe) => Err(p.pipe_error()),
        Some(t) => Err(format!(
            "unexpected {t} after the end of the condition (search names are joined with 'and'/'or')"
        )),
    }
}

/// Glob match of a search-name pattern (`*` only).
fn name_matches(pattern: &str, name: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == name,
        Some((pre, rest)) => {
            if !name.starts_with(pre) {
                return false;
            }
            let tail = &name[pre.len()..];
            if rest.is_empty() {
                return true;
            }
            (0..=tail.len())
                .filter(|i| tail.is_char_boundary(*i))
                .any(|i| name_matches(rest, &tail[i..]))
        }
    }
}

/// Resolves identifiers to search indices.
pub fn resolve(ast: &CondAst, names: &[String]) -> Result<Expr, String> {
    let group = |pat: &str| -> Result<Vec<usize>, String> {
        let idx: Vec<usize> = names
            .iter()
            .enumerate()
            .filter(|(_, n)| {
                if pat == "them" {
                    !n.starts_with('_')
                } else {
                    name_matches(pat, n)
                }
            })
            .map(|(i, _)| i)
            .collect();
        if idx.is_empty() {
            return Err(format!(
                "condition refers to '{pat}' which matches no search"
            ));
        }
        Ok(idx)
    };
    Ok(match ast {
        CondAst::Ident(n) => match names.iter().position(|x| x == n) {
            Some(i) => Expr::Ref(i),
            None => return Err(format!("condition refers to unknown search '{n}'")),
        },
        CondAst::Not(e) => Expr::Not(Box::new(resolve(e, names)?)),
        CondAst::And(es) => Expr::And(
            es.iter()
                .map(|e| resolve(e, names))
                .collect::<Result<_, _>>()?,
        ),
        CondAst::Or(es) => Expr::Or(
            es.iter()
                .map(|e| resolve(e, names))
                .collect::<Result<_, _>>()?,
        ),
        CondAst::OneOf(p) => Expr::Or(group(p)?.into_iter().map(Expr::Ref).collect()),
        CondAst::AllOf(p) => Expr::And(group(p)?.into_iter().map(Expr::Ref).collect()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precedence() {
        let a = parse_condition("a or b and not c").unwrap();
        assert_eq!(
            a,
            CondAst::Or(vec![
                CondAst::Ident("a".into()),
                CondAst::And(vec![
                    CondAst::Ident("b".into()),
                    CondAst::Not(Box::new(CondAst::Ident("c".into())))
                ])
            ])
        );
    }

    #[test]
    fn of_forms() {
        let a = parse_condition("1 of sel* and not all of filter_*").unwrap();
        let names: Vec<String> = ["sel1", "sel2", "filter_a", "filter_b"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let e = resolve(&a, &names).unwrap();
        assert!(matches!(e, Expr::And(_)));
        assert!(parse_condition("(a or b").is_err());
        assert!(parse_condition("a | count() > 5").is_err());
        assert!(resolve(&parse_condition("nope").unwrap(), &names).is_err());
        assert!(name_matches("sel*_x", "sel_1_x"));
        assert!(!name_matches("sel*_x", "sel_1_y"));
    }

    #[test]
    fn unsupported_forms_say_why() {
        let count = parse_condition("all of cmd_* | count() by host > 50").unwrap_err();
        assert!(count.contains("aggregation"), "{count}");
        let near = parse_condition("(a and not b) | near c").unwrap_err();
        assert!(near.contains("'| near'"), "{near}");
        assert!(near.contains("temporal correlation"), "{near}");
        let bare = parse_condition("a | NEAR b").unwrap_err();
        assert!(bare.contains("'| near'"), "{bare}");
        let leading = parse_condition("| near b").unwrap_err();
        assert!(leading.contains("'| near'"), "{leading}");
        // Tokens are quoted as written, not as Rust debug output.
        let trailing = parse_condition("write ProcessGuid from x").unwrap_err();
        assert!(
            trailing.starts_with("unexpected 'ProcessGuid' after the end of the condition"),
            "{trailing}"
        );
    }
}
