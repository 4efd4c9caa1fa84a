//! Property tests: arbitrary rule text, conditions, values and timestamps never panic.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use mamori_detect::sigma::condition::parse_condition;
use mamori_detect::{EventView, RulesetBuilder};
use proptest::prelude::*;

const TEMPLATE: &str = "title: p\nlogsource:\n  product: windows\ndetection:\n  sel:\n    FIELD: 'VALUE'\n  condition: COND\n";

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_yaml_never_panics(text in "\\PC{0,200}") {
        let mut b = RulesetBuilder::new();
        b.add_source("p.yml", &text);
        let _ = b.build();
    }

    #[test]
    fn arbitrary_conditions_never_panic(cond in "[a-z1_ ()|*]{0,40}") {
        let _ = parse_condition(&cond);
        let mut b = RulesetBuilder::new();
        b.add_source("p.yml", &TEMPLATE.replace("FIELD", "A").replace("VALUE", "x").replace("COND", &cond));
        let _ = b.build();
    }

    #[test]
    fn arbitrary_fields_and_values_compile_or_error(
        field in "[A-Za-z]{1,5}(\\|(contains|startswith|endswith|all|re|i|m|s|base64|base64offset|wide|utf16le|utf16be|utf16|windash|cidr|exists|gt|gte|lt|lte|fieldref|expand|cased|bogus)){0,3}",
        value in "[^'\\n]{0,20}",
        event_value in "\\PC{0,30}",
    ) {
        let mut b = RulesetBuilder::new();
        b.add_source("p.yml", &TEMPLATE.replace("FIELD", &field).replace("VALUE", &value).replace("COND", "sel"));
        let (rs, _) = b.build();
        let mut ev = EventView::new();
        let name: String = field.split('|').next().unwrap().to_owned();
        ev.push_str(&name, &event_value);
        ev.finish();
        rs.scan_unrouted(&ev, &mut |_: usize, _: &mamori_detect::CompiledRule, _: &EventView| true);
    }

    #[test]
    fn arbitrary_timestamps_never_panic(ts in "\\PC{0,40}", span in "\\PC{0,8}") {
        let _ = mamori_detect::time::parse_timestamp_ms(&ts);
        let _ = mamori_detect::time::parse_timespan_ms(&span);
    }

    #[test]
    fn arbitrary_ioc_lists_never_panic(text in "\\PC{0,120}", probe in "\\PC{0,40}") {
        if let Ok(set) = mamori_detect::ioc::IocSet::parse("p", &text) {
            let _ = set.lookup(&probe);
        }
        let _ = mamori_detect::ioc::normalize_url(&probe);
    }
}
