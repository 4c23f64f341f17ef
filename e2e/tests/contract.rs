//! The REST contract, held still: every endpoint's status and body shape
//! (field names and types, errors included) for the guide's calls and their
//! usual failures, compared with `e2e/tests/contract/rest.txt`. The GraphQL
//! side is the committed SDLs, which `cargo xtask compose --check` compares
//! with what the services print. A change to either is a change to the public
//! contract: regenerate with `UPDATE_CONTRACT=1 cargo test -p e2e --test contract`
//! and let review see the diff. The snapshot and the OpenAPI documents
//! (`docs/openapi/`) are held to each other by the last test here.

#![allow(clippy::unwrap_used)] // a test: a failed unwrap is a failed test

use std::fmt::Write as _;

use common::ServiceKind::{self, Attendance, Auth, Event};
use reqwest::Method;
use serde_json::{json, Value};

/// A value's shape: objects by sorted keys, arrays by their first item, strings
/// told apart by what they hold (an id, a time, a cursor-like token, text).
fn shape(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(_) => "bool".into(),
        Value::Number(n) if n.is_i64() || n.is_u64() => "int".into(),
        Value::Number(_) => "float".into(),
        Value::String(s) if uuid::Uuid::parse_str(s).is_ok() => "uuid".into(),
        Value::String(s) if chrono::DateTime::parse_from_rfc3339(s).is_ok() => "time".into(),
        Value::String(_) => "string".into(),
        Value::Array(items) => match items.first() {
            Some(first) => format!("[{}]", shape(first)),
            None => "[]".into(),
        },
        Value::Object(fields) => {
            let mut keys: Vec<_> = fields.keys().collect();
            keys.sort();
            let inner: Vec<String> = keys.into_iter().map(|k| format!("{k}: {}", shape(&fields[k]))).collect();
            format!("{{{}}}", inner.join(", "))
        }
    }
}

struct Recorder<'a> {
    e2e: &'a e2e::E2e,
    lines: String,
}

impl Recorder<'_> {
    /// Calls `method path` on `kind` and records `label`, the status and the body's shape.
    async fn call(
        &mut self,
        label: &str,
        kind: ServiceKind,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Value {
        let (status, body) = self.e2e.rest(method.clone(), kind, path, token, body).await;
        writeln!(self.lines, "{kind} {method} {label} -> {} {}", status.as_u16(), shape(&body)).unwrap();
        body
    }

    /// As [`call`], with a raw body and content type, or the service credential.
    async fn raw(&mut self, label: &str, request: reqwest::RequestBuilder) {
        let response = request.send().await.expect("service answers");
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        writeln!(self.lines, "{label} -> {status} {}", shape(&body)).unwrap();
    }
}

#[tokio::test]
async fn rest_bodies_keep_their_shape() {
    let e2e = e2e::start().await;
    let mut r = Recorder { e2e: &e2e, lines: String::new() };
    let ana = auth_calls(&mut r).await;
    let (event_id, bo) = event_calls(&mut r, &ana).await;
    registration_calls(&mut r, &ana, &bo, &event_id).await;
    attendance_calls(&mut r, &ana, &bo, &event_id).await;
    compare_with_snapshot(&r.lines);
}

/// Someone signed in during the calls: their token and id.
struct Person {
    token: String,
    id: String,
}

impl Person {
    fn from(answer: &Value) -> Person {
        Person {
            token: answer["token"].as_str().expect("a token").to_owned(),
            id: answer["user"]["id"].as_str().expect("an id").to_owned(),
        }
    }
}

const GET: Method = Method::GET;
const POST: Method = Method::POST;
const PATCH: Method = Method::PATCH;
const DELETE: Method = Method::DELETE;

/// The auth service's calls (and every service's health); Ana, signed in.
async fn auth_calls(r: &mut Recorder<'_>) -> Person {
    let ana = json!({"email": "ana@example.com", "password": "securepass", "name": "Ana"});
    let registered = r.call("/auth/register", Auth, POST, "/auth/register", None, Some(ana.clone())).await;
    r.call("/auth/register (taken)", Auth, POST, "/auth/register", None, Some(ana)).await;
    r.call("/auth/register (no password)", Auth, POST, "/auth/register", None, Some(json!({"email": "x@example.com"})))
        .await;
    r.call(
        "/auth/register (short password)",
        Auth,
        POST,
        "/auth/register",
        None,
        Some(json!({"email": "y@example.com", "password": "x"})),
    )
    .await;
    let login = json!({"email": "ana@example.com", "password": "securepass"});
    let session = r.call("/auth/login", Auth, POST, "/auth/login", None, Some(login)).await;
    let wrong = json!({"email": "ana@example.com", "password": "wrong-wrong"});
    r.call("/auth/login (wrong password)", Auth, POST, "/auth/login", None, Some(wrong)).await;
    let token = session["token"].as_str().expect("a token").to_owned();
    r.call("/auth/validate", Auth, POST, "/auth/validate", Some(&token), None).await;
    r.call("/auth/validate (no token)", Auth, POST, "/auth/validate", None, None).await;
    let refresh = json!({"refreshToken": session["refreshToken"]});
    r.call("/auth/refresh", Auth, POST, "/auth/refresh", None, Some(refresh.clone())).await;
    r.call("/auth/refresh (reused)", Auth, POST, "/auth/refresh", None, Some(refresh)).await;
    let fresh = r
        .call(
            "/auth/login (again)",
            Auth,
            POST,
            "/auth/login",
            None,
            Some(json!({"email": "ana@example.com", "password": "securepass"})),
        )
        .await;
    let token = fresh["token"].as_str().expect("a token").to_owned();
    r.call("/auth/logout", Auth, POST, "/auth/logout", None, Some(json!({"refreshToken": fresh["refreshToken"]})))
        .await;
    r.call("/.well-known/jwks.json", Auth, GET, "/.well-known/jwks.json", None, None).await;
    let ana_id = registered["user"]["id"].as_str().expect("an id").to_owned();
    let internal_user = format!("{}/internal/users/{ana_id}", r.e2e.stack.service_url(Auth));
    r.raw("auth GET /internal/users/{id} (no credential)", r.e2e.http.get(&internal_user)).await;
    let secret = r.e2e.stack.service_secret().to_owned();
    r.raw("auth GET /internal/users/{id}", r.e2e.http.get(&internal_user).header(common::internal::HEADER, &secret))
        .await;
    let login_url = format!("{}/auth/login", r.e2e.stack.service_url(Auth));
    r.raw(
        "auth POST /auth/login (text/plain)",
        r.e2e.http.post(&login_url).header("content-type", "text/plain").body("{}"),
    )
    .await;
    r.raw(
        "auth POST /auth/login (garbage JSON)",
        r.e2e.http.post(&login_url).header("content-type", "application/json").body("{"),
    )
    .await;
    r.call("/no-such-endpoint", Auth, GET, "/no-such-endpoint", None, None).await;
    for kind in ServiceKind::ALL {
        r.call("/health/live", kind, GET, "/health/live", None, None).await;
        r.call("/health/ready", kind, GET, "/health/ready", None, None).await;
    }

    Person { token, id: ana_id }
}

/// The event service's calls: Ana's event, and Bo, who registers meanwhile.
async fn event_calls(r: &mut Recorder<'_>, ana: &Person) -> (String, Person) {
    let token = &ana.token;
    let now = chrono::Utc::now();
    let window = |from: i64, to: i64| {
        ((now + chrono::Duration::minutes(from)).to_rfc3339(), (now + chrono::Duration::minutes(to)).to_rfc3339())
    };
    let (start, end) = window(-10, 120);
    let new_event = json!({"title": "Tech Conference", "description": "Annual", "startTime": start, "endTime": end,
        "location": "Hall A", "timezone": "Asia/Jakarta", "capacity": 100});
    let event = r.call("/events", Event, POST, "/events", Some(token), Some(new_event.clone())).await;
    let broken = json!({"title": " ", "startTime": start, "endTime": start});
    r.call("/events (invalid)", Event, POST, "/events", Some(token), Some(broken)).await;
    r.call("/events (unknown field)", Event, POST, "/events", Some(token), Some(json!({"titel": "x"}))).await;
    let event_id = event["id"].as_str().expect("an id").to_owned();
    r.call("/events", Event, GET, "/events", None, None).await;
    r.call("/events?limit=0", Event, GET, "/events?limit=0", None, None).await;
    r.call("/events/{id}", Event, GET, &format!("/events/{event_id}"), None, None).await;
    r.call("/events/{id} (not a uuid)", Event, GET, "/events/not-a-uuid", None, None).await;
    r.call("/events/{id} (unknown)", Event, GET, &format!("/events/{}", uuid::Uuid::new_v4()), None, None).await;
    let path = format!("/events/{event_id}");
    r.call("/events/{id}", Event, PATCH, &path, Some(token), Some(json!({"location": null, "capacity": 50}))).await;
    r.call("/events/{id} (title null)", Event, PATCH, &path, Some(token), Some(json!({"title": null}))).await;
    let other = r
        .call(
            "/auth/register (another user)",
            Auth,
            POST,
            "/auth/register",
            None,
            Some(json!({"email": "bo@example.com", "password": "securepass"})),
        )
        .await;
    let other_token = other["token"].as_str().expect("a token").to_owned();
    r.call("/events/{id} (another user)", Event, PATCH, &path, Some(&other_token), Some(json!({"capacity": 5}))).await;

    (event_id, Person::from(&other))
}

/// The registration desk's calls at Ana's event: Bo registers; Ana
/// registers too, and her ticket is scanned, cancelled and refused.
async fn registration_calls(r: &mut Recorder<'_>, ana: &Person, bo: &Person, event_id: &str) {
    let (token, bo_token) = (Some(ana.token.as_str()), Some(bo.token.as_str()));
    let list = format!("/attendance/event/{event_id}/registrations");
    let mine = r.call("/attendance/event/{id}/registrations", Attendance, POST, &list, bo_token, None).await;
    r.call("/attendance/event/{id}/registrations (anonymous)", Attendance, POST, &list, None, None).await;
    r.call("/attendance/event/{id}/registrations (organizer)", Attendance, GET, &list, token, None).await;
    r.call(
        "/attendance/event/{id}/registrations?status=NOPE",
        Attendance,
        GET,
        &format!("{list}?status=NOPE"),
        token,
        None,
    )
    .await;
    let one = format!("/attendance/registrations/{}", mine["id"].as_str().expect("an id"));
    r.call("/attendance/registrations/{id}", Attendance, GET, &one, bo_token, None).await;
    r.call("/attendance/registrations/{id} (anonymous)", Attendance, GET, &one, None, None).await;
    r.call("/attendance/registrations/{id}/ticket.svg", Attendance, GET, &format!("{one}/ticket.svg"), bo_token, None)
        .await;
    r.call("/attendance/registrations/{id}/approve", Attendance, POST, &format!("{one}/approve"), token, None).await;
    r.call("/attendance/registrations/{id}/decline", Attendance, POST, &format!("{one}/decline"), token, None).await;
    let policy = format!("/attendance/event/{event_id}/registration-policy");
    r.call("/attendance/event/{id}/registration-policy", Attendance, GET, &policy, None, None).await;
    let patch = json!({"waitlist": true, "capacity": null});
    r.call("/attendance/event/{id}/registration-policy", Attendance, PATCH, &policy, token, Some(patch)).await;
    let summary = format!("/attendance/event/{event_id}/registration-summary");
    r.call("/attendance/event/{id}/registration-summary", Attendance, GET, &summary, None, None).await;
    r.call("/.well-known/ticket-keys.json", Attendance, GET, "/.well-known/ticket-keys.json", None, None).await;
    let own = r.call("/attendance/event/{id}/registrations (organizer)", Attendance, POST, &list, token, None).await;
    let ticket = json!({"eventId": event_id, "ticket": own["ticket"]["secret"]});
    r.call("/attendance (ticket)", Attendance, POST, "/attendance", token, Some(ticket.clone())).await;
    let own_path = format!("/attendance/registrations/{}", own["id"].as_str().expect("an id"));
    r.call("/attendance/registrations/{id}", Attendance, DELETE, &own_path, token, None).await;
    r.call("/attendance (revoked ticket)", Attendance, POST, "/attendance", token, Some(ticket)).await;
    let revoked = format!("/attendance/event/{event_id}/revoked-tickets");
    r.call("/attendance/event/{id}/revoked-tickets", Attendance, GET, &revoked, token, None).await;
}

/// The attendance service's calls at Ana's event, Bo checking in.
async fn attendance_calls(r: &mut Recorder<'_>, ana: &Person, bo: &Person, event_id: &str) {
    let (token, other_token, other_id) = (&ana.token, &bo.token, &bo.id);
    let now = chrono::Utc::now();
    let check_in = json!({"eventId": event_id});
    r.call("/attendance", Attendance, POST, "/attendance", Some(other_token), Some(check_in.clone())).await;
    r.call("/attendance (again)", Attendance, POST, "/attendance", Some(other_token), Some(check_in)).await;
    r.call("/attendance (bad id)", Attendance, POST, "/attendance", Some(token), Some(json!({"eventId": "nope"})))
        .await;
    let unknown = json!({"eventId": uuid::Uuid::new_v4()});
    r.call("/attendance (unknown event)", Attendance, POST, "/attendance", Some(token), Some(unknown)).await;
    let list = format!("/attendance/event/{event_id}");
    r.call("/attendance/event/{id} (organizer)", Attendance, GET, &list, Some(token), None).await;
    r.call("/attendance/event/{id} (anonymous, development)", Attendance, GET, &list, None, None).await;
    r.call("/attendance/event/{id}?limit=0", Attendance, GET, &format!("{list}?limit=0"), Some(token), None).await;
    let exit = json!({"eventId": event_id, "userId": other_id, "direction": "EXIT", "nonce": "c-1"});
    r.call("/attendance (exit)", Attendance, POST, "/attendance", Some(token), Some(exit.clone())).await;
    r.call(
        "/attendance (exit, not inside)",
        Attendance,
        POST,
        "/attendance",
        Some(token),
        Some(json!({"eventId": event_id, "userId": other_id, "direction": "EXIT"})),
    )
    .await;
    r.call("/attendance (exit, same nonce)", Attendance, POST, "/attendance", Some(token), Some(exit)).await;
    let scans = json!({"eventId": event_id, "scans": [
        {"nonce": "s-1", "userId": other_id, "scannedAt": now.to_rfc3339()},
        {"nonce": "s-2", "userId": "nope", "scannedAt": now.to_rfc3339()},
    ]});
    r.call("/attendance/scans", Attendance, POST, "/attendance/scans", Some(token), Some(scans.clone())).await;
    r.call("/attendance/scans (another user)", Attendance, POST, "/attendance/scans", Some(other_token), Some(scans))
        .await;
    let log = format!("/attendance/event/{event_id}/scans");
    r.call("/attendance/event/{id}/scans", Attendance, GET, &log, Some(token), None).await;
    r.call("/attendance/event/{id}/scans (anonymous)", Attendance, GET, &log, None, None).await;
    let policy = format!("/attendance/event/{event_id}/policy");
    r.call("/attendance/event/{id}/policy", Attendance, GET, &policy, None, None).await;
    r.call(
        "/attendance/event/{id}/policy",
        Attendance,
        PATCH,
        &policy,
        Some(token),
        Some(json!({"allowReentry": false, "exitAllAt": null})),
    )
    .await;
    r.call(
        "/attendance/event/{id}/policy (another user)",
        Attendance,
        PATCH,
        &policy,
        Some(other_token),
        Some(json!({"allowReentry": true})),
    )
    .await;
    let stats = format!("/attendance/stats/{event_id}");
    r.call("/attendance/stats/{id}", Attendance, GET, &stats, None, None).await;
    let visible = format!("{}/internal/visible-profiles", r.e2e.stack.service_url(Attendance));
    let ask = json!({"viewer": ana.id, "users": [other_id]});
    let secret = r.e2e.stack.service_secret().to_owned();
    r.raw(
        "attendance POST /internal/visible-profiles",
        r.e2e.http.post(&visible).header(common::internal::HEADER, &secret).json(&ask),
    )
    .await;
    r.call("/events/{id}/cancel", Event, POST, &format!("/events/{event_id}/cancel"), Some(token), None).await;
}

/// The recorded calls against `e2e/tests/contract/rest.txt` (rewritten with `UPDATE_CONTRACT=1`).
fn compare_with_snapshot(lines: &str) {
    let snapshot = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/contract/rest.txt");
    if std::env::var_os("UPDATE_CONTRACT").is_some() {
        std::fs::write(&snapshot, lines).unwrap();
    }
    let expected = std::fs::read_to_string(&snapshot).unwrap_or_default();
    if expected != lines {
        let diff: Vec<String> =
            expected.lines().zip(lines.lines()).filter(|(a, b)| a != b).map(|(a, b)| format!("- {a}\n+ {b}")).collect();
        panic!(
            "the REST contract changed ({} lines before, {} now); if on purpose, regenerate with \
             UPDATE_CONTRACT=1 cargo test -p e2e --test contract\n{}",
            expected.lines().count(),
            lines.lines().count(),
            diff.join("\n")
        );
    }
}

/// The snapshot and the OpenAPI documents (`docs/openapi/`, which the services
/// serve) describe one API: every public call the snapshot records, with its
/// status, is a documented operation and response; every documented
/// operation is in the snapshot (but the live stream, which never ends: the
/// live tests read it).
#[test]
fn the_snapshot_and_the_openapi_documents_agree() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let snapshot = std::fs::read_to_string(root.join("e2e/tests/contract/rest.txt")).unwrap();
    // `{id}`, `{event_id}`, `{eventId}`: one placeholder.
    let template = |path: &str| {
        let path = path.split('?').next().unwrap_or_default();
        path.split('/').map(|part| if part.starts_with('{') { "{}" } else { part }).collect::<Vec<_>>().join("/")
    };
    let mut documented = std::collections::BTreeSet::new();
    let mut problems = Vec::new();
    let mut recorded = std::collections::BTreeSet::new();
    for service in ["auth", "event", "attendance"] {
        let text = std::fs::read_to_string(root.join(format!("docs/openapi/{service}.json"))).unwrap();
        let api: Value = serde_json::from_str(&text).unwrap();
        for (path, item) in api["paths"].as_object().unwrap() {
            for method in item.as_object().unwrap().keys() {
                documented.insert((service.to_owned(), method.to_uppercase(), template(path)));
            }
        }
        for line in snapshot.lines().filter(|line| line.starts_with(&format!("{service} "))) {
            let mut words = line.split_whitespace();
            let (_, method, path) = (words.next(), words.next().unwrap(), words.next().unwrap());
            if path.starts_with("/internal/") || path == "/no-such-endpoint" {
                continue; // not public: the documents leave them out
            }
            let status = line.split(" -> ").nth(1).and_then(|rest| rest.split_whitespace().next()).unwrap();
            let key = (service.to_owned(), method.to_owned(), template(path));
            recorded.insert(key.clone());
            let operation = api["paths"]
                .as_object()
                .unwrap()
                .iter()
                .find(|(documented_path, _)| template(documented_path) == key.2)
                .map(|(_, item)| &item[method.to_lowercase()]);
            match operation {
                Some(op) if op.is_object() && op["responses"].get(status).is_some() => {}
                Some(op) if op.is_object() => problems.push(format!("{line}: status {status} is not documented")),
                _ => problems.push(format!("{line}: no such operation in docs/openapi/{service}.json")),
            }
        }
    }
    let streamed = ("attendance".to_owned(), "GET".to_owned(), "/attendance/live/{}".to_owned());
    for operation in documented.difference(&recorded).filter(|op| **op != streamed) {
        problems.push(format!("{operation:?} is documented but not in the snapshot"));
    }
    assert!(problems.is_empty(), "the snapshot and docs/openapi/ disagree:\n{}", problems.join("\n"));
}
