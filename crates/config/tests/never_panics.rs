//! `load` never panics, whatever the file holds.

mod common;

use common::{load_with, write_file};
use mamori_config::Overrides;
use proptest::prelude::*;

fn toml_like() -> impl Strategy<Value = String> {
    let line = prop_oneof![
        "\\[(http|auth|log|database|x)\\]",
        "(data_dir|listen|public_url|url|body_limit_bytes|request_timeout_secs|session_ttl_minutes|secure_cookies|login_max_failures|login_window_secs|level|format|http\\.x|log\\.level) = (\"[a-z0-9:/.=,\\[\\]@_-]{0,24}\"|-?[0-9_]{1,22}|0x[0-9a-f]{1,18}|true|false|1\\.5|\\{ ?\\}|\\[1, ?2\\]|1979-05-27)",
        ".{0,30}",
    ];
    prop::collection::vec(line, 0..12).prop_map(|lines| lines.join("\n"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn arbitrary_text(text in any::<String>()) {
        let (_dir, path) = write_file(&text);
        let _ = load_with(Some(&path), &[], Overrides::default());
    }

    #[test]
    fn toml_shaped_text(text in toml_like()) {
        let (_dir, path) = write_file(&text);
        let result = load_with(Some(&path), &[], Overrides::default());
        if let Err(errors) = result {
            prop_assert!(!errors.is_empty());
            prop_assert!(!errors.to_string().is_empty());
        }
    }
}
