//! Each SQL statement as a latency sample and, inside a sampled trace, a
//! span: named by what it does (`SELECT record_scans`, `INSERT attendances`),
//! never by its values (they are bound parameters and go nowhere).

use std::time::{Duration, SystemTime};

use opentelemetry::{
    trace::{Span as _, SpanKind, TraceContextExt, Tracer as _},
    KeyValue,
};
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// A statement's name: its verb and the first table or function it names.
pub fn statement_name(sql: &str) -> String {
    let mut words =
        sql.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.')).filter(|w| !w.is_empty()).take(64);
    let Some(verb) = words.next().map(str::to_ascii_uppercase) else { return "EMPTY".to_owned() };
    // The word after the first of these names the statement's object.
    let after: &[&str] = match verb.as_str() {
        "INSERT" => &["INTO"],
        "UPDATE" => &["UPDATE"],
        "DELETE" => &["FROM"],
        "WITH" => &["WITH"],
        "SELECT" => &["FROM", "SELECT"],
        _ => return verb,
    };
    let rest: Vec<&str> = std::iter::once(verb.as_str()).chain(words).collect();
    let object = after.iter().find_map(|anchor| {
        rest.windows(2)
            .find(|pair| pair[0].eq_ignore_ascii_case(anchor) && !is_keyword(pair[1]))
            .map(|pair| pair[1].rsplit('.').next().unwrap_or(pair[1]))
    });
    match object {
        Some(object) => format!("{verb} {}", object.to_ascii_lowercase()),
        None => verb,
    }
}

fn is_keyword(word: &str) -> bool {
    ["DISTINCT", "ONLY", "LATERAL", "EXISTS", "NOT", "RECURSIVE", "SELECT", "FROM", "UNNEST", "1", "AS"]
        .iter()
        .any(|k| word.eq_ignore_ascii_case(k))
}

/// Records one statement that took `elapsed` (SeaORM's metric callback);
/// nothing, not even its name, while neither metrics nor traces are on.
pub fn record_statement(sql: &str, elapsed: Duration, failed: bool) {
    if !super::exporting() {
        return;
    }
    let name = statement_name(sql);
    let outcome = if failed { "error" } else { "ok" };
    ::metrics::histogram!(super::metrics::DB_STATEMENT_SECONDS, "statement" => name.clone(), "outcome" => outcome)
        .record(elapsed.as_secs_f64());
    // A span only inside a sampled trace: the request's, whose span is current.
    let parent = tracing::Span::current().context();
    if !parent.span().span_context().is_sampled() {
        return;
    }
    let end = SystemTime::now();
    let tracer = opentelemetry::global::tracer("titiktemu.sql");
    let mut span = tracer
        .span_builder(name.clone())
        .with_kind(SpanKind::Client)
        .with_start_time(end - elapsed)
        .with_attributes([
            KeyValue::new("db.system.name", "postgresql"),
            KeyValue::new("db.operation.name", name),
            KeyValue::new("error", failed),
        ])
        .start_with_context(&tracer, &parent);
    span.end_with_timestamp(end);
}

#[cfg(test)]
mod tests {
    use super::statement_name;

    #[test]
    fn statements_are_named_by_verb_and_object() {
        assert_eq!(statement_name("SELECT * FROM record_scans($1, $2)"), "SELECT record_scans");
        assert_eq!(statement_name("INSERT INTO attendance_schema.attendances (id) VALUES ($1)"), "INSERT attendances");
        assert_eq!(statement_name("update users SET x = $1"), "UPDATE users");
        assert_eq!(statement_name("DELETE FROM check_in_staff WHERE event_id = $1"), "DELETE check_in_staff");
        assert_eq!(statement_name("WITH counter AS (INSERT ...)"), "WITH counter");
        assert_eq!(statement_name("SELECT scan_verdict($1)"), "SELECT scan_verdict");
        assert_eq!(statement_name("SELECT 1"), "SELECT");
        assert_eq!(
            statement_name("SELECT o.owner FROM unnest($1) o(owner) JOIN x ON (SELECT 1 FROM attendances)"),
            "SELECT attendances"
        );
        assert_eq!(statement_name("SELECT s.event_id FROM check_in_staff s"), "SELECT check_in_staff");
        assert_eq!(statement_name("SELECT coalesce((SELECT v FROM event_checkins), 0)"), "SELECT event_checkins");
        assert_eq!(statement_name("BEGIN"), "BEGIN");
        assert_eq!(statement_name(""), "EMPTY");
    }
}
