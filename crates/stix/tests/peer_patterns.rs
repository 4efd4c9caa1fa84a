//! Differential test of the pattern *parser* against the OASIS `stix2-patterns` validator on
//! a generated corpus: the spec patterns, random mutations of them, and token soup. Syntax
//! decisions must agree exactly; where the reference accepts and we refuse, our error must be
//! a semantic one on a literal (e.g. `REPEATS 0`, `WITHIN 0`, 30 February, an integer beyond
//! 64 bits, a regex feature a linear-time engine cannot run). Skipped, with a message, when
//! `stix2-patterns` is not installed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "common/python.rs"]
mod python;

use mamori_stix::{Pattern, PatternError};

const SCRIPT: &str = r#"
import json, sys
from stix2patterns.validator import run_validator
out = []
for p in json.load(open(sys.argv[1])):
    try:
        out.append("ok" if not run_validator(p, stix_version="2.1") else "fail")
    except Exception:
        out.append("crash")
print(json.dumps(out))
"#;

const TOKENS: [&str; 44] = [
    "[",
    "]",
    "(",
    ")",
    ":",
    ".",
    ",",
    "*",
    "=",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "AND",
    "OR",
    "NOT",
    "FOLLOWEDBY",
    "LIKE",
    "MATCHES",
    "ISSUBSET",
    "ISSUPERSET",
    "EXISTS",
    "IN",
    "START",
    "STOP",
    "WITHIN",
    "SECONDS",
    "REPEATS",
    "TIMES",
    "true",
    "ipv4-addr",
    "value",
    "'x'",
    "'%a_'",
    "1",
    "-2",
    "3.5",
    "t'2016-01-01T00:00:00Z'",
    "h'ff'",
    "b'AA=='",
    "file",
    "hashes",
    "'SHA-256'",
];

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn corpus() -> Vec<String> {
    let mut rng = Rng(0x5eed_cafe_f00d_1234);
    let seeds: Vec<String> = common::cases()
        .into_iter()
        .map(|c| c.0.to_owned())
        .collect();
    let mut out = seeds.clone();
    for seed in &seeds {
        for _ in 0..12 {
            let mut s: Vec<char> = seed.chars().collect();
            let i = rng.below(s.len());
            match rng.below(4) {
                0 => {
                    s.remove(i);
                }
                1 => {
                    let c = s[i];
                    s.insert(i, c);
                }
                2 if i + 1 < s.len() => s.swap(i, i + 1),
                _ => {
                    let tok = TOKENS[rng.below(TOKENS.len())];
                    let tail = s.split_off(i);
                    s.extend(format!(" {tok} ").chars());
                    s.extend(tail);
                }
            }
            out.push(s.into_iter().collect());
        }
    }
    for _ in 0..600 {
        let n = 1 + rng.below(10);
        let toks: Vec<&str> = (0..n).map(|_| TOKENS[rng.below(TOKENS.len())]).collect();
        out.push(toks.join(" "));
    }
    // Shapes that token soup rarely reaches.
    for p in [
        "[x:y = 1]",
        "[x:y NOT = 1]",
        "[NOT x:y = 1]",
        "[NOT EXISTS x:y]",
        "[x:y NOT EXISTS]",
        "[x:y.0 = 1]",
        "[x:true = 1]",
        "[x:y = 1.]",
        "[x:y = .5]",
        "[x:y = +.5]",
        "[x:y = 007]",
        "[x:y = b'']",
        "[x:y = b'AA']",
        "[x:y = h'']",
        "[x:y = h'abc']",
        "[x:y = 'a\\n']",
        "[x:y < true]",
        "[x:y LIKE 1]",
        "[x:y IN ()]",
        "[x:y IN (1, 'a')]",
        "[x:y = 1] WITHIN 0 SECONDS",
        "[x:y = 1] WITHIN 00 SECONDS",
        "[x:y = 1] WITHIN 1.5 SECONDS",
        "[x:y = 1] REPEATS 0 TIMES",
        "[x:y = 1] REPEATS 1.5 TIMES",
        "[x:y = t'2016-02-30T00:00:00Z']",
        "[x:y = t'2016-01-01T00:00:60Z']",
        "[x:y = 99999999999999999999]",
        "[x-:y = 1]",
        "[-x:y = 1]",
        "[x:ÿ = 1]",
        "[x:y = 'é']",
        "[x :y . z [ * ] = 1]",
        "[x:y = 1] START t'2016-01-02T00:00:00Z' STOP t'2016-01-01T00:00:00Z'",
    ] {
        out.push(p.to_owned());
    }
    out
}

#[test]
fn parser_agrees_with_stix2_patterns() {
    let Some(py) = python::python_with("stix2patterns") else {
        eprintln!(
            "SKIPPED parser_agrees_with_stix2_patterns: no Python with stix2-patterns (run .ci/setup)"
        );
        return;
    };
    let corpus = corpus();
    let file = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("stix-pattern-corpus-{}.json", std::process::id()));
    std::fs::write(&file, serde_json::to_vec(&corpus).unwrap()).unwrap();
    let out = std::process::Command::new(&py)
        .args(["-c", SCRIPT])
        .arg(&file)
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&file);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let theirs: Vec<String> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(theirs.len(), corpus.len());
    let (mut agree, mut stricter, mut crashed) = (0, Vec::new(), 0);
    let mut wrong = Vec::new();
    for (p, t) in corpus.iter().zip(&theirs) {
        let ours = Pattern::parse(p);
        match (t.as_str(), &ours) {
            ("crash", _) => crashed += 1,
            ("ok", Ok(_)) | ("fail", Err(_)) => agree += 1,
            ("ok", Err(e @ PatternError::Literal { .. })) => stricter.push(format!("{p}: {e}")),
            _ => wrong.push(format!("{p}: reference {t}, ours {ours:?}")),
        }
    }
    eprintln!(
        "stix2-patterns: {} patterns, {agree} agree, {} refused by us on literal semantics, {crashed} crashed the reference",
        corpus.len(),
        stricter.len()
    );
    for s in &stricter {
        eprintln!("  stricter: {s}");
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}
