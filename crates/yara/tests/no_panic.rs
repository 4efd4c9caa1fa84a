//! Property: scanning arbitrary bytes with a rule set that uses strings, regular expressions,
//! hex patterns with jumps, loops and modules never panics and always answers.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

use std::sync::OnceLock;

use mamori_yara::{RuleSet, Source};
use proptest::prelude::*;

const RULES: &str = r#"
import "pe"
import "math"
rule Text { strings: $a = "MZ" $b = /https?:\/\/[a-z0-9.-]{3,40}/ nocase condition: any of them }
rule Hex { strings: $h = { 4D 5A [0-64] 50 45 00 00 } condition: $h }
rule Pe { condition: pe.is_pe and pe.number_of_sections > 0 }
rule Entropy { condition: filesize > 16 and math.entropy(0, filesize) > 7.0 }
rule Loop { condition: for any i in (0..filesize) : ( i % 4 == 0 and uint32(i) == 0x46445025 ) }
"#;

fn rules() -> &'static RuleSet {
    static SET: OnceLock<RuleSet> = OnceLock::new();
    SET.get_or_init(|| RuleSet::compile(&[Source::new("prop", RULES)]).unwrap())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..4096)) {
        let hits = rules().scan(&data).unwrap();
        for h in hits {
            prop_assert_eq!(h.namespace, "prop");
        }
    }

    #[test]
    fn pe_like_prefixes_never_panic(tail in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let mut data = b"MZ\x90\x00".to_vec();
        data.extend_from_slice(&tail);
        prop_assert!(rules().scan(&data).is_ok());
    }
}
