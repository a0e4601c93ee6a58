//! Everything that parses caller or HeyGen input answers instead of panicking,
//! whatever the input.

use proptest::prelude::*;
use shared::app::admin::{groups, require_admin};
use shared::app::in_flight::parse_refresh;
use shared::app::trigger::TriggerRequest;
use shared::app::webhook::{parse_notice, signature_matches};
use shared::domain::Timestamp;
use shared::domain::{Mode, Month};

proptest! {
    #[test]
    fn month_and_mode(s in "\\PC{0,12}") {
        let _ = s.parse::<Month>();
        let _ = s.parse::<Mode>();
    }

    #[test]
    fn months_that_parse_print_back_the_same(year in 1u16..=9999, month in 1u8..=12) {
        let text = format!("{year:04}-{month:02}");
        prop_assert_eq!(text.parse::<Month>().unwrap().to_string(), text);
    }

    #[test]
    fn trigger_bodies(body in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = TriggerRequest::parse(&body);
    }

    #[test]
    fn trigger_bodies_that_look_like_json(month in "\\PC{0,10}", mode in "\\PC{0,12}", extra in "[a-z_]{0,8}") {
        let body = format!(r#"{{"month":"{month}","mode":"{mode}","{extra}":true}}"#);
        let _ = TriggerRequest::parse(body.as_bytes());
    }

    #[test]
    fn notices_and_signatures(body in proptest::collection::vec(any::<u8>(), 0..256), sig in "\\PC{0,80}") {
        let _ = parse_notice(&body);
        prop_assert!(!signature_matches(&body, &sig, "k") || sig.len() == 64);
    }

    #[test]
    fn claims_and_queries(value in "\\PC{0,64}") {
        let _ = groups(&value);
        let claims = std::collections::HashMap::from([("cognito:groups".to_string(), value.clone())]);
        let _ = require_admin(Some(&claims), "cognito:groups", "admin");
        let _ = parse_refresh(&[value.as_str()]);
        let _ = Timestamp::parse(&value);
    }
}
