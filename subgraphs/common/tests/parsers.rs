//! Properties of the parsers that read untrusted input: whatever the input,
//! they return a value or an error, never panic, and what they produce
//! parses back to itself.

use std::net::IpAddr;

use axum::http::HeaderMap;
use common::{
    config::{parse_duration, DatabaseSettings},
    net::client_address,
    page::Cursor,
};
use proptest::prelude::*;
use query_cost::document::nesting_depth;

proptest! {
    #[test]
    fn cursors_decode_anything_without_panicking(input in ".{0,200}") {
        let _ = Cursor::decode(&input);
    }

    #[test]
    fn cursors_round_trip(micros in -8_000_000_000_000_000i64..8_000_000_000_000_000i64, id in any::<u128>()) {
        if let Some(at) = chrono::DateTime::from_timestamp_micros(micros) {
            let cursor = Cursor { at, id: uuid::Uuid::from_u128(id) };
            prop_assert_eq!(Cursor::decode(&cursor.encode()).unwrap(), cursor);
        }
    }

    #[test]
    fn nesting_depth_never_exceeds_the_brackets(input in "[{}()\\[\\]\"#a\\\\\n ]{0,300}") {
        let opening = input.bytes().filter(|b| matches!(b, b'{' | b'(' | b'[')).count();
        prop_assert!(nesting_depth(&input) <= opening);
    }

    #[test]
    fn durations_parse_or_explain(input in "\\PC{0,30}") {
        if let Ok(duration) = parse_duration(&input) {
            prop_assert!(!duration.is_zero());
        }
    }

    #[test]
    fn whole_seconds_round_trip(seconds in 1u64..=u64::MAX / 86_400) {
        prop_assert_eq!(parse_duration(&seconds.to_string()).unwrap().as_secs(), seconds);
    }

    #[test]
    fn database_urls_parse_or_name_the_variable(input in "\\PC{0,120}") {
        if let Err(e) = DatabaseSettings::parse("DATABASE_URL", &input) {
            prop_assert!(e.to_string().contains("DATABASE_URL"));
        }
    }

    #[test]
    fn forwarded_for_from_an_untrusted_peer_is_ignored(header in "[0-9a-f.:, ]{0,80}", peer in any::<[u8; 4]>()) {
        let peer = IpAddr::from(peer);
        let mut headers = HeaderMap::new();
        if let Ok(value) = header.parse() {
            headers.insert("x-forwarded-for", value);
        }
        prop_assert_eq!(client_address(peer, &headers, &[]), peer);
        let trusted = [peer.into()];
        let _ = client_address(peer, &headers, &trusted);
    }
}
