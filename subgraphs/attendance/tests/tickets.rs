//! Tickets at the door: signed secrets redeemed online and offline, every
//! refusal logged, keys rotated, and who sees a registration and its ticket
//! on every path of the subgraph.

#![allow(clippy::unwrap_used)] // a test: a failed unwrap is a failed test

mod helpers;

use serde_json::{json, Value};
use test_support::error_code;
use uuid::Uuid;

use helpers::desk::{desk, Desk};

const NOBODY: &str = "00000000-0000-0000-0000-000000000000";

/// The scan log as the organizer reads it over REST: (status, person) newest first.
async fn scan_log(d: &Desk) -> Vec<(String, String)> {
    let log: Vec<Value> = {
        let url = d.s.attendance.url(&format!("/attendance/event/{}/scans?limit=100", d.event));
        d.s.attendance.http.get(url).bearer_auth(&d.organizer).send().await.unwrap().json().await.unwrap()
    };
    log.iter().map(|s| (s["status"].as_str().unwrap().to_owned(), s["userId"].as_str().unwrap().to_owned())).collect()
}

/// Names a new person check-in staff of the desk's event: their token.
async fn staff(d: &Desk) -> String {
    let people = d.people(1).await;
    let (token, id) = &people[0];
    assert!(helpers::change_staff(&d.s, &d.organizer, &d.event, id, true).await["errors"].is_null());
    token.clone()
}

/// A scanned ticket names its holder; entries, exits and re-entry follow
/// the door's rules as for a scan by id; only scanners scan tickets.
#[tokio::test]
async fn a_ticket_admits_its_holder_and_the_door_rules_apply() {
    let d = desk(Some(10), json!({})).await;
    let people = d.people(1).await;
    let (holder, holder_id) = &people[0];
    let (secret, _) = d.ticket_of(holder).await;
    let scanner = staff(&d).await;
    let own = d.scan_ticket(holder, &secret, "ENTRY").await;
    assert_eq!(error_code(&own), Some("FORBIDDEN"), "a holder does not scan their own ticket: {own}");
    let entry = d.scan_ticket(&scanner, &secret, "ENTRY").await;
    assert_eq!(entry["data"]["checkIn"]["userId"], *holder_id, "{entry}");
    let again = d.scan_ticket(&scanner, &secret, "ENTRY").await;
    assert_eq!(error_code(&again), Some("ALREADY_CHECKED_IN"), "{again}");
    let exit = d.scan_ticket(&scanner, &secret.to_lowercase(), "EXIT").await;
    assert!(exit["errors"].is_null(), "scanners may hand over lower case: {exit}");
    // REST takes the same ticket, with the same rules (re-entry is on by default).
    let response = d.s.check_in(Some(&d.organizer), json!({"eventId": d.event, "ticket": secret})).await;
    let (status, body) = test_support::status_and_json(response).await;
    assert_eq!((status, body["userId"].as_str()), (201, Some(holder_id.as_str())), "{body}");
    let statuses: Vec<String> = scan_log(&d).await.into_iter().map(|(status, _)| status).collect();
    assert_eq!(statuses, ["OK", "OK", "ALREADY_CHECKED_IN", "OK"]);
}

/// Forged, truncated, foreign, revoked and misplaced tickets are refused
/// with their own codes and logged; a ticket the event has no business
/// reading names nobody in the log.
#[tokio::test]
async fn refused_tickets_are_logged_with_their_codes() {
    let d = desk(Some(10), json!({})).await;
    let people = d.people(3).await;
    let (secret, _) = d.ticket_of(&people[0].0).await;
    // A ticket of another event of the same organizer.
    let elsewhere = d.s.live_event(Some(&d.organizer), None).await;
    let (_, other) = d.register_at(&elsewhere, Some(&people[1].0)).await;
    let other_secret = other["ticket"]["secret"].as_str().unwrap();
    // A cancelled registration's ticket.
    let (revoked_secret, revoked) = d.ticket_of(&people[2].0).await;
    let cancel = d.registration_call(&people[2].0, "cancelRegistration", revoked["id"].as_str().unwrap()).await;
    assert!(cancel["errors"].is_null(), "{cancel}");
    // A well-formed ticket signed by a key that is not ours.
    let stranger = attendance_service::domain::tickets::TicketKeys::new(vec![ed25519_dalek::SigningKey::generate(
        &mut rand::rngs::OsRng,
    )])
    .unwrap();
    let foreign = stranger
        .secret(&attendance_service::domain::tickets::TicketClaims {
            ticket_id: Uuid::new_v4(),
            event_id: d.event.parse().unwrap(),
            valid_until: chrono::Utc::now() + chrono::Duration::days(1),
            key_id: stranger.signing_key_id(),
        })
        .unwrap();
    let mut forged: Vec<char> = secret.chars().collect();
    forged[80] = if forged[80] == 'A' { 'B' } else { 'A' };
    let forged: String = forged.into_iter().collect();
    let cases = [
        (forged.as_str(), "TICKET_INVALID", NOBODY),
        (&secret[..120], "TICKET_INVALID", NOBODY),
        ("hello", "TICKET_INVALID", NOBODY),
        ("TT1\u{0}AAAA", "TICKET_INVALID", NOBODY),
        (foreign.as_str(), "TICKET_INVALID", NOBODY),
        (other_secret, "TICKET_WRONG_EVENT", NOBODY),
        (revoked_secret.as_str(), "TICKET_REVOKED", people[2].1.as_str()),
    ];
    for (ticket, code, _) in &cases {
        let out = d.scan_ticket(&d.organizer, ticket, "ENTRY").await;
        assert_eq!(error_code(&out), Some(*code), "{ticket}: {out}");
    }
    let mut logged = scan_log(&d).await;
    logged.reverse();
    let expected: Vec<(String, String)> = cases.iter().map(|(_, c, u)| ((*c).to_owned(), (*u).to_owned())).collect();
    assert_eq!(logged, expected);
    // Malformed requests are refused before anything is logged.
    let both = json!({"eventId": d.event, "ticket": secret, "userId": people[0].1});
    let huge = json!({"eventId": d.event, "ticket": "T".repeat(600)});
    for body in [both, huge, json!({"eventId": d.event, "ticket": 42})] {
        let response = d.s.check_in(Some(&d.organizer), body.clone()).await;
        let (status, answer) = test_support::status_and_json(response).await;
        assert!(matches!(status, 400 | 422), "{body}: {status} {answer}");
        assert_eq!(answer["error"]["code"], "BAD_USER_INPUT", "{body}: {answer}");
    }
    assert_eq!(scan_log(&d).await.len(), cases.len());
}

/// An event that requires tickets admits, scanned by id, only people with a
/// confirmed registration; tickets work as ever.
#[tokio::test]
async fn an_event_that_requires_tickets_admits_only_the_registered() {
    let d = desk(Some(10), json!({"requireTicket": true})).await;
    let people = d.people(3).await;
    let (secret, _) = d.ticket_of(&people[0].0).await;
    d.ticket_of(&people[1].0).await;
    let by_id = |user: &str| json!({"eventId": d.event, "userId": user});
    let (status, body) =
        test_support::status_and_json(d.s.check_in(Some(&d.organizer), by_id(&people[2].1)).await).await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("NOT_REGISTERED")), "{body}");
    let own = d.s.check_in(Some(&people[2].0), json!({"eventId": d.event})).await;
    let (status, body) = test_support::status_and_json(own).await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("NOT_REGISTERED")), "{body}");
    assert_eq!(d.s.check_in(Some(&d.organizer), by_id(&people[1].1)).await.status(), 201);
    assert!(d.scan_ticket(&d.organizer, &secret, "ENTRY").await["errors"].is_null());
}

/// A new key signs new tickets while the old one still admits its tickets;
/// once retired, an old ticket is refused and its holder's ticket is
/// reissued with the new key when they next look at it (the old one revoked,
/// so offline scanners learn of it).
#[tokio::test]
async fn rotated_keys_keep_old_tickets_until_retired() {
    let d = desk(Some(10), json!({})).await;
    let people = d.people(2).await;
    let (old_secret, old) = d.ticket_of(&people[0].0).await;
    let new_key = test_support::signing_key_pem();
    let both = format!("{new_key}\n{}", d.s.ticket_key_pem);
    let rotated = d.s.another_attendance_with(&[("TICKET_SIGNING_KEY", both.as_str())]).await;
    let keys: Value = rotated.get_json("/.well-known/ticket-keys.json").await;
    let kids: Vec<&str> = keys["keys"].as_array().unwrap().iter().map(|k| k["kid"].as_str().unwrap()).collect();
    assert_eq!(kids.len(), 2);
    assert_eq!(kids[1], old["ticket"]["keyId"], "the old key is still published, after the new one");
    let url = rotated.url(&format!("/attendance/event/{}/registrations", d.event));
    let fresh: Value = rotated.http.post(url).bearer_auth(&people[1].0).send().await.unwrap().json().await.unwrap();
    assert_eq!(fresh["ticket"]["keyId"], kids[0], "new tickets use the new key");
    assert!(scan_at(&rotated, &d, &old_secret, "ENTRY").await["errors"].is_null(), "an old ticket still admits");
    let retired = d.s.another_attendance_with(&[("TICKET_SIGNING_KEY", new_key.as_str())]).await;
    assert_eq!(error_code(&scan_at(&retired, &d, &old_secret, "EXIT").await), Some("TICKET_INVALID"));
    let query = "query($id: ID!) { registration(id: $id) { ticket { id keyId secret } } }";
    let read = retired.graphql(query, json!({"id": old["id"]}), Some(&people[0].0)).await;
    let ticket = &read["data"]["registration"]["ticket"];
    assert_eq!(ticket["keyId"], kids[0], "{read}");
    assert_ne!(ticket["id"], old["ticket"]["id"]);
    let revoked =
        "query($r: [_Any!]!) { _entities(representations: $r) { ... on Event { revokedTickets { ticketId } } } }";
    let list =
        retired.graphql(revoked, json!({"r": [{"__typename": "Event", "id": d.event}]}), Some(&d.organizer)).await;
    assert_eq!(list["data"]["_entities"][0]["revokedTickets"], json!([{"ticketId": old["ticket"]["id"]}]), "{list}");
    let reissued = json!({"eventId": d.event, "ticket": ticket["secret"], "direction": "EXIT"});
    assert_eq!(
        retired
            .http
            .post(retired.url("/attendance"))
            .bearer_auth(&d.organizer)
            .json(&reissued)
            .send()
            .await
            .unwrap()
            .status(),
        201
    );
}

/// `checkIn` of a ticket at another instance of the service, by the organizer.
async fn scan_at(server: &test_support::TestServer, d: &Desk, ticket: &str, direction: &str) -> Value {
    let query = format!(
        "mutation($e: ID!, $t: String!) {{ checkIn(input: {{eventId: $e, ticket: $t, direction: {direction}}}) {{ userId }} }}"
    );
    server.graphql(&query, json!({"e": d.event, "t": ticket}), Some(&d.organizer)).await
}

/// An offline scanner keeps the public keys and the revoked list, checks
/// tickets' signatures itself, and uploads its scans later: each scan gets
/// its own verdict, a revoked one included, and uploading again changes nothing.
#[tokio::test]
async fn an_offline_scanner_checks_tickets_itself_and_uploads_them() {
    let d = desk(Some(10), json!({})).await;
    let scanner = staff(&d).await;
    let people = d.people(3).await;
    let mut secrets = Vec::new();
    for (token, _) in &people {
        secrets.push(d.ticket_of(token).await);
    }
    let cancelled = d.registration_call(&people[2].0, "cancelRegistration", secrets[2].1["id"].as_str().unwrap()).await;
    assert!(cancelled["errors"].is_null(), "{cancelled}");
    // Before the doors open: the keys and the revoked list.
    let keys: Value = d.s.attendance.get_json("/.well-known/ticket-keys.json").await;
    let revoked = "query($r: [_Any!]!) { _entities(representations: $r) { ... on Event { revokedTickets { ticketId revokedAt } } } }";
    let list =
        d.s.attendance.graphql(revoked, json!({"r": [{"__typename": "Event", "id": d.event}]}), Some(&scanner)).await;
    let revoked_ids: Vec<&str> = list["data"]["_entities"][0]["revokedTickets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["ticketId"].as_str().unwrap())
        .collect();
    assert_eq!(revoked_ids, [secrets[2].1["ticket"]["id"].as_str().unwrap()]);
    // Offline: every ticket's signature checks out with the published key, and
    // the revoked one is known by its id.
    for (secret, registration) in &secrets {
        let (ticket_id, valid) = offline_check(secret, &keys);
        assert!(valid, "{secret}");
        assert_eq!(ticket_id.to_string(), registration["ticket"]["id"].as_str().unwrap());
    }
    let at = chrono::Utc::now().to_rfc3339();
    let scans = json!([
        {"nonce": "n1", "ticket": secrets[0].0, "scannedAt": at},
        {"nonce": "n2", "ticket": secrets[2].0, "scannedAt": at},
        {"nonce": "n3", "ticket": secrets[1].0, "scannedAt": at},
        {"nonce": "n4", "ticket": secrets[0].0, "scannedAt": at},
        {"nonce": "n5", "ticket": "garbage", "scannedAt": at},
        {"nonce": "n6", "scannedAt": at},
        {"nonce": "n7", "ticket": secrets[1].0, "userId": people[1].1, "scannedAt": at},
    ]);
    let upload = "mutation($e: ID!, $s: [ScanInput!]!) { syncScans(eventId: $e, scans: $s) { nonce status } }";
    let expected =
        ["OK", "TICKET_REVOKED", "OK", "ALREADY_CHECKED_IN", "TICKET_INVALID", "BAD_USER_INPUT", "BAD_USER_INPUT"];
    for _ in 0..2 {
        let out = d.s.attendance.graphql(upload, json!({"e": d.event, "s": scans}), Some(&scanner)).await;
        let statuses: Vec<&str> =
            out["data"]["syncScans"].as_array().unwrap().iter().map(|r| r["status"].as_str().unwrap()).collect();
        assert_eq!(statuses, expected, "{out}");
    }
    assert_eq!(scan_log(&d).await.len(), 5, "the malformed two are not logged; the second upload wrote nothing");
}

/// What an offline scanner does with a secret: decode, find the key by its
/// id, check the Ed25519 signature; the ticket's id and whether it is valid.
fn offline_check(secret: &str, jwks: &Value) -> (Uuid, bool) {
    use ed25519_dalek::{Signature, Verifier, VerifyingKey};
    let bytes = data_encoding::BASE32_NOPAD.decode(secret.strip_prefix("TT1").unwrap().as_bytes()).unwrap();
    let (payload, signature) = bytes.split_at(41);
    let kid: String = payload[1..5].iter().map(|b| format!("{b:02x}")).collect();
    let key = jwks["keys"].as_array().unwrap().iter().find(|k| k["kid"] == kid.as_str()).expect("a published key");
    let public: [u8; 32] =
        data_encoding::BASE64URL_NOPAD.decode(key["x"].as_str().unwrap().as_bytes()).unwrap().try_into().unwrap();
    let valid =
        VerifyingKey::from_bytes(&public).unwrap().verify(payload, &Signature::from_slice(signature).unwrap()).is_ok();
    (Uuid::from_slice(&payload[5..21]).unwrap(), valid)
}

/// Who sees a registration, and who its ticket, on every path of the
/// subgraph: anonymous, another person, the person registered, the
/// organizer, check-in staff, an ADMIN.
#[tokio::test]
async fn who_sees_a_registration_and_its_ticket_on_every_path() {
    let d = desk(Some(10), json!({})).await;
    let people = d.people(2).await;
    let ((holder, holder_id), (other, _)) = (&people[0], &people[1]);
    let (secret, registration) = d.ticket_of(holder).await;
    let id = registration["id"].as_str().unwrap();
    let staff = staff(&d).await;
    let admin = d.s.admin("admin@example.com").await;
    // (role, token, sees the registration, sees its ticket)
    let roles: [(&str, Option<&str>, bool, bool); 6] = [
        ("anonymous", None, false, false),
        ("another person", Some(other), false, false),
        ("the person", Some(holder), true, true),
        ("the organizer", Some(&d.organizer), true, true),
        ("check-in staff", Some(&staff), true, false),
        ("an ADMIN", Some(&admin), true, true),
    ];
    let a = &d.s.attendance;
    for (role, token, sees, sees_ticket) in roles {
        let ticket_of = |r: &Value| r["ticket"]["secret"].as_str().map(str::to_owned);
        let expected_ticket = sees_ticket.then(|| secret.clone());
        // registration(id) and _entities.
        let out = a
            .graphql(
                "query($id: ID!) { registration(id: $id) { id ticketId ticket { secret } } }",
                json!({"id": id}),
                token,
            )
            .await;
        assert_eq!(out["data"]["registration"]["id"].as_str() == Some(id), sees, "{role} registration(id): {out}");
        // The ticket's id (not its secret) goes with the registration: staff
        // checking tickets offline name their holders by it.
        let ticket_id = registration["ticket"]["id"].as_str();
        assert_eq!(out["data"]["registration"]["ticketId"].as_str(), ticket_id.filter(|_| sees), "{role}: {out}");
        assert_eq!(ticket_of(&out["data"]["registration"]), expected_ticket, "{role}: {out}");
        let entities =
            "query($r: [_Any!]!) { _entities(representations: $r) { ... on Registration { id ticket { secret } } } }";
        let out = a.graphql(entities, json!({"r": [{"__typename": "Registration", "id": id}]}), token).await;
        assert_eq!(out["data"]["_entities"][0]["id"].as_str() == Some(id), sees, "{role} _entities: {out}");
        // The event's list (organizer, staff, ADMIN) and the person's (themself, ADMIN).
        let lists = "query($r: [_Any!]!) { _entities(representations: $r) {
                       ... on Event { registrations { totalCount nodes { ticket { secret } } } }
                       ... on User { registrations { totalCount nodes { ticket { secret } } } } } }";
        let reps = json!([{"__typename": "Event", "id": d.event}, {"__typename": "User", "id": holder_id}]);
        let out = a.graphql(lists, json!({"r": reps}), token).await;
        let lists_event = matches!(role, "the organizer" | "check-in staff" | "an ADMIN");
        let lists_person = matches!(role, "the person" | "an ADMIN");
        assert_eq!(out["data"]["_entities"][0]["registrations"]["totalCount"], i32::from(lists_event), "{role}: {out}");
        assert_eq!(
            out["data"]["_entities"][1]["registrations"]["totalCount"],
            i32::from(lists_person),
            "{role}: {out}"
        );
        if lists_event {
            let shown = ticket_of(&out["data"]["_entities"][0]["registrations"]["nodes"][0]);
            assert_eq!(shown.is_some(), role != "check-in staff", "{role}: {out}");
        }
        // REST: one registration, the event's list, the ticket's QR code.
        let get = |path: String| {
            let request = a.http.get(a.url(&path));
            match token {
                Some(token) => request.bearer_auth(token),
                None => request,
            }
        };
        let status = get(format!("/attendance/registrations/{id}")).send().await.unwrap().status().as_u16();
        assert_eq!(
            status,
            if sees {
                200
            } else if token.is_none() {
                401
            } else {
                403
            },
            "{role} REST registration"
        );
        let svg = get(format!("/attendance/registrations/{id}/ticket.svg")).send().await.unwrap();
        let expected = if sees_ticket {
            200
        } else if token.is_none() {
            401
        } else {
            403
        };
        assert_eq!(svg.status().as_u16(), expected, "{role} ticket.svg");
        if sees_ticket {
            let code = qrcode::QrCode::with_error_correction_level(&secret, qrcode::EcLevel::M).unwrap();
            let drawn = code.render::<qrcode::render::svg::Color>().min_dimensions(320, 320).build();
            assert_eq!(svg.text().await.unwrap(), drawn, "the QR code of the secret");
        }
        let list = get(format!("/attendance/event/{}/registrations", d.event)).send().await.unwrap();
        let (status, body) = test_support::status_and_json(list).await;
        if token.is_none() {
            assert_eq!(status, 401, "{role} REST list");
        } else {
            assert_eq!(body.as_array().map(Vec::len), Some(usize::from(lists_event)), "{role} REST list: {body}");
        }
    }
}
