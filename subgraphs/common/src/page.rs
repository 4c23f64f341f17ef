//! Lists and ids, one way for GraphQL and REST: the keyset [`Cursor`], the
//! [`Page`] storage fills by fetching one row more than asked for, the page
//! size rule, and the one id parser.

use base64::Engine;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::error::ApiError;

/// One page of a keyset-paginated list.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub has_next: bool,
}

impl<T> Page<T> {
    /// From `limit + 1` fetched rows: the extra row only says a next page exists.
    pub fn from_overfetch(mut items: Vec<T>, limit: u64) -> Self {
        let has_next = items.len() as u64 > limit;
        items.truncate(limit as usize);
        Page { items, has_next }
    }

    pub fn empty() -> Self {
        Page { items: Vec::new(), has_next: false }
    }

    /// One page per owner, in the order of `owners`, from the `limit + 1`
    /// rows fetched for each of them at once (an owner without rows gets an
    /// empty page).
    pub fn per_owner<K: Copy + Eq + std::hash::Hash>(
        owners: &[K],
        mut rows: std::collections::HashMap<K, Vec<T>>,
        limit: u64,
    ) -> Vec<(K, Self)> {
        owners
            .iter()
            .map(|owner| (*owner, Page::from_overfetch(rows.remove(owner).unwrap_or_default(), limit)))
            .collect()
    }

    /// The cursor after the last item, when there is a next page to ask for
    /// (GraphQL's `endCursor` is given whenever the page has items).
    pub fn end_cursor(&self, cursor_of: impl Fn(&T) -> Cursor) -> Option<String> {
        self.items.last().map(|last| cursor_of(last).encode())
    }

    /// REST's `X-Next-Cursor`: the cursor of the next page, empty on the last one.
    pub fn next_cursor(&self, cursor_of: impl Fn(&T) -> Cursor) -> String {
        if self.has_next {
            self.end_cursor(cursor_of).unwrap_or_default()
        } else {
            String::new()
        }
    }
}

/// Validates a REST `limit` (1..=max, `default` when absent).
pub fn rest_limit(limit: Option<u64>, default: u64, max: u64) -> Result<u64, ApiError> {
    match limit.unwrap_or(default) {
        0 => Err(ApiError::bad_input(format!("`limit` must be between 1 and {max}"))),
        limit if limit > max => Err(ApiError::bad_input(format!("`limit` must be between 1 and {max}"))),
        limit => Ok(limit),
    }
}

/// Validates a `first` argument: 0..=max.
pub fn page_size(first: i32, max: i32) -> Result<u64, ApiError> {
    if first < 0 {
        return Err(ApiError::bad_input("`first` must not be negative"));
    }
    if first > max {
        return Err(ApiError::bad_input(format!("`first` must be at most {max}")));
    }
    Ok(first as u64)
}

/// An opaque keyset cursor: a timestamp and an id, both exact, so pages stay
/// stable while rows are inserted between requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cursor {
    pub at: DateTime<Utc>,
    pub id: Uuid,
}

impl Cursor {
    /// An optional cursor as the two nullable SQL parameters of a keyset
    /// condition (`$at IS NULL OR (time, id) > ($at, $id)`).
    pub fn parts(cursor: Option<Cursor>) -> (Option<DateTime<Utc>>, Option<Uuid>) {
        cursor.map_or((None, None), |c| (Some(c.at), Some(c.id)))
    }

    pub fn encode(&self) -> String {
        let raw = format!("v1|{}|{}", self.at.timestamp_micros(), self.id);
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
    }

    pub fn decode(cursor: &str) -> Result<Self, ApiError> {
        let invalid = || ApiError::bad_input("`after` is not a cursor returned by this API");
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
        let raw = String::from_utf8(bytes).map_err(|_| invalid())?;
        let mut parts = raw.split('|');
        let (Some("v1"), Some(micros), Some(id), None) = (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(invalid());
        };
        let at = micros.parse().ok().and_then(DateTime::from_timestamp_micros).ok_or_else(invalid)?;
        let id = Uuid::parse_str(id).map_err(|_| invalid())?;
        Ok(Cursor { at, id })
    }
}

/// An id given by a client (a GraphQL `ID` argument, a REST body field) that
/// must be a UUID; the error names the field.
pub fn parse_id(field: &str, raw: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw).map_err(|_| ApiError::bad_input(format!("`{field}` must be a UUID")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_exactly() {
        let at = DateTime::from_timestamp_micros(1_705_309_200_123_456).unwrap();
        let cursor = Cursor { at, id: Uuid::new_v4() };
        assert_eq!(Cursor::decode(&cursor.encode()).unwrap(), cursor);
    }

    #[test]
    fn forged_cursors_are_bad_input() {
        for forged in ["", "abc", "djF8MXwy", &base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("v1|x|y")] {
            assert_eq!(Cursor::decode(forged).unwrap_err().code, crate::ErrorCode::BadUserInput);
        }
    }

    #[test]
    fn over_fetching_tells_whether_there_is_more() {
        assert_eq!(Page::from_overfetch(vec![1, 2, 3], 2), Page { items: vec![1, 2], has_next: true });
        assert_eq!(Page::from_overfetch(vec![1, 2], 2), Page { items: vec![1, 2], has_next: false });
        assert!(parse_id("eventId", "nope").unwrap_err().message.contains("`eventId`"));
    }

    #[test]
    fn page_size_is_capped() {
        assert_eq!(page_size(100, 100).unwrap(), 100);
        assert!(page_size(101, 100).is_err());
        assert!(page_size(-1, 100).is_err());
    }
}
