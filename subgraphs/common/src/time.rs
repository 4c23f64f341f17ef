//! The `DateTime` scalar of the contract: RFC 3339 in, any offset accepted;
//! always UTC with `Z` out, in GraphQL and REST alike.

use async_graphql::{InputValueError, InputValueResult, Scalar, ScalarType, Value};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub DateTime<Utc>);

impl Timestamp {
    pub fn now() -> Self {
        Timestamp(Utc::now())
    }

    pub fn parse(raw: &str) -> Result<Self, String> {
        DateTime::parse_from_rfc3339(raw.trim())
            .map(|t| Timestamp(t.with_timezone(&Utc)))
            .map_err(|e| format!("`{raw}` is not an RFC 3339 date-time ({e})"))
    }

    pub fn to_rfc3339(&self) -> String {
        self.0.to_rfc3339_opts(SecondsFormat::AutoSi, true)
    }
}

impl From<DateTime<Utc>> for Timestamp {
    fn from(t: DateTime<Utc>) -> Self {
        Timestamp(t)
    }
}

impl From<Timestamp> for DateTime<Utc> {
    fn from(t: Timestamp) -> Self {
        t.0
    }
}

/// RFC 3339 date-time. Input may carry any offset; output is always UTC (`Z`).
#[Scalar(name = "DateTime")]
impl ScalarType for Timestamp {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(s) => Timestamp::parse(s).map_err(InputValueError::custom),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.to_rfc3339())
    }
}

/// In OpenAPI documents: an RFC 3339 `date-time` string.
impl utoipa::PartialSchema for Timestamp {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::Type::String)
            .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(utoipa::openapi::KnownFormat::DateTime)))
            .description(Some("RFC 3339 date-time; any offset in, always UTC (`Z`) out"))
            .examples([serde_json::json!("2026-12-31T19:00:00Z")])
            .into()
    }
}

impl utoipa::ToSchema for Timestamp {
    fn name() -> std::borrow::Cow<'static, str> {
        "DateTime".into()
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_rfc3339())
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Timestamp::parse(&raw).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_offset_in_utc_z_out() {
        let t = Timestamp::parse("2024-01-15T16:00:00+07:00").unwrap();
        assert_eq!(t.to_rfc3339(), "2024-01-15T09:00:00Z");
        assert_eq!(serde_json::to_string(&t).unwrap(), "\"2024-01-15T09:00:00Z\"");
        assert!(Timestamp::parse("2024-01-15 09:00").is_err());
        assert!(Timestamp::parse("tomorrow").is_err());
    }
}
