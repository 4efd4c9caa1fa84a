//! `[[share.feeds]]`: parsed with secrets resolved; every problem names the key and line.

#![allow(clippy::unwrap_used)]

mod common;

use common::{errors, load_with, write_file};
use mamori_config::{ExposeSecret, FeedCredential, FeedDirection, Overrides};

#[test]
fn feeds_parse_with_secrets() {
    let (_d, path) = write_file(
        r#"
[[share.feeds]]
name = "partner"
url = "https://partner.example/taxii2/api/"
collection = "c1"
token = "env:PARTNER_TOKEN"
direction = "both"
interval_secs = 60
as = "mic.analyst"

[[share.feeds]]
name = "second"
url = "http://127.0.0.1:9/taxii2/api/"
collection = "c2"
basic_user = "u"
password = "env:PARTNER_TOKEN"
as = "mic.analyst"
local_collection = "org"
"#,
    );
    let c = load_with(
        Some(&path),
        &[("PARTNER_TOKEN", "s3cret")],
        Overrides::default(),
    )
    .unwrap();
    let f = &c.share.feeds;
    assert_eq!(f.len(), 2);
    assert_eq!(f[0].direction, FeedDirection::Both);
    assert_eq!(f[0].interval_secs, 60);
    assert_eq!(f[0].local, "community");
    match &f[0].credential {
        FeedCredential::Bearer(t) => assert_eq!(t.expose_secret(), "s3cret"),
        other => panic!("{other:?}"),
    }
    assert_eq!(f[1].direction, FeedDirection::Pull);
    assert_eq!(f[1].interval_secs, 300);
    assert!(matches!(&f[1].credential, FeedCredential::Basic { user, .. } if user == "u"));
}

#[test]
fn feed_problems_name_key_and_line() {
    let (_d, path) = write_file(
        r#"[[share.feeds]]
name = "a"
url = "ftp://x/"
collection = "c"
token = "literal-token"
direction = "sideways"
interval_secs = 0
as = "u"
colour = "blue"
"#,
    );
    let e = errors(load_with(Some(&path), &[], Overrides::default())).to_string();
    for needle in [
        "mamori.toml:3",
        "share.feeds[0].url",
        "mamori.toml:5",
        "env:NAME or file:PATH",
        "share.feeds[0].direction",
        "mamori.toml:7",
        "share.feeds[0].interval_secs",
        "mamori.toml:9",
        "share.feeds[0].colour",
    ] {
        assert!(e.contains(needle), "{needle}: {e}");
    }
    assert!(!e.contains("literal-token"), "secret echoed: {e}");
}
