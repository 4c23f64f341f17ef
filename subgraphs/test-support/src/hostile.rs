//! Hostile input for the hostile-input suites of every service: malformed
//! bodies, hostile strings, abusive GraphQL documents and forged tokens, and
//! the one check every case must pass (a 4xx, or a GraphQL error, with the
//! contract's error code; never a 5xx).

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use serde_json::{json, Value};

/// A request body and the content type it is sent with.
pub struct RawBody {
    pub name: String,
    pub content_type: &'static str,
    pub bytes: Vec<u8>,
}

fn raw(name: impl Into<String>, content_type: &'static str, bytes: impl Into<Vec<u8>>) -> RawBody {
    RawBody { name: name.into(), content_type, bytes: bytes.into() }
}

const JSON: &str = "application/json";

/// Bodies that are not the JSON object an endpoint expects.
pub fn malformed_bodies() -> Vec<RawBody> {
    vec![
        raw("empty", JSON, ""),
        raw("garbage", JSON, "this is not json"),
        raw("binary", JSON, vec![0u8, 0xff, 0xfe, 0x01]),
        raw("truncated", JSON, r#"{"email": "a@example.com", "password":"#),
        raw("trailing garbage", JSON, r#"{"a": 1} xyz"#),
        raw("array", JSON, "[]"),
        raw("string", JSON, r#""hello""#),
        raw("null", JSON, "null"),
        raw("invalid UTF-8 in a string", JSON, b"{\"title\": \"\xff\xfe\xfd\"}".to_vec()),
        raw("lone surrogate escape", JSON, r#"{"title": "\ud800"}"#),
        raw("deeply nested arrays", JSON, "[".repeat(100_000)),
        raw("deeply nested objects", JSON, r#"{"a":"#.repeat(50_000)),
        raw("number out of range", JSON, r#"{"capacity": 1e400, "first": 1e400}"#),
        raw("duplicate keys", JSON, r#"{"title": "a", "title": "b"}"#),
        raw("wrong content type", "text/plain", r#"{"title": "T"}"#),
        raw("form encoded", "application/x-www-form-urlencoded", "email=a%40example.com&password=securepass"),
        raw("oversized (2 MiB)", JSON, format!(r#"{{"title": "{}"}}"#, "x".repeat(2 * 1024 * 1024))),
    ]
}

/// Strings that must be stored and returned as plain text, or refused, and
/// never interpreted.
pub fn hostile_strings() -> Vec<String> {
    vec![
        "'; DROP TABLE users; --".into(),
        "\" OR 1=1 --".into(),
        "$1; SELECT pg_sleep(10)".into(),
        "%s%s%s%n".into(),
        "<script>alert(1)</script>".into(),
        "\u{202e}gnp.exe".into(),
        "nul\u{0}byte".into(),
        "😀".repeat(300),
        "x".repeat(100_000),
        "".into(),
        "   ".into(),
    ]
}

/// GraphQL request bodies no subgraph should execute. `field` is a root
/// query field of the subgraph under test that takes no arguments or only
/// optional ones (e.g. `__typename` works everywhere).
pub fn hostile_graphql() -> Vec<(String, Value)> {
    let deep = format!("{{ {}__typename{} }}", "__typename ... on Query { ".repeat(200), " }".repeat(200));
    let aliases = format!("{{ {} }}", (0..5_000).map(|i| format!("a{i}: __typename")).collect::<Vec<_>>().join(" "));
    // Ten spreads of ten spreads of ten spreads of ten fields: 40 fields
    // written, 10,000 to resolve.
    let ten = |body: &str| std::iter::repeat_n(body, 10).collect::<Vec<_>>().join(" ");
    let fields = (0..10).map(|i| format!("f{i}: _service {{ sdl }}")).collect::<Vec<_>>().join(" ");
    let fragment_bomb = format!(
        "query {{ ...A }} fragment A on Query {{ {} }} fragment B on Query {{ {} }} \
         fragment C on Query {{ {} }} fragment D on Query {{ {fields} }}",
        ten("...B"),
        ten("...C"),
        ten("...D")
    );
    // Each fragment spreads the next: no brackets nest, yet following the
    // chain naively recurses 20,000 deep.
    let chain: String = (0..20_000).map(|i| format!("fragment f{i} on Query {{ ...f{} }} ", i + 1)).collect();
    let fragment_chain = format!("{{ ...f0 }} {chain}fragment f20000 on Query {{ __typename }}");
    vec![
        ("deeply nested selections".into(), json!({"query": deep})),
        ("a chain of 20,000 fragments".into(), json!({"query": fragment_chain})),
        ("a megabyte of braces".into(), json!({"query": "{".repeat(900_000)})),
        ("5,000 aliases".into(), json!({"query": aliases})),
        ("fragment fan-out".into(), json!({"query": fragment_bomb})),
        (
            "cyclic fragments".into(),
            json!({"query": "query { ...A } fragment A on Query { ...B } fragment B on Query { ...A }"}),
        ),
        ("batch of operations".into(), json!([{"query": "{ __typename }"}, {"query": "{ __typename }"}])),
        ("query is not a string".into(), json!({"query": 42})),
        ("no query".into(), json!({"variables": {}})),
        ("syntax error".into(), json!({"query": "{ __typename"})),
        ("unknown field".into(), json!({"query": "{ doesNotExist }"})),
        ("variables of the wrong shape".into(), json!({"query": "{ __typename }", "variables": [1, 2]})),
        ("many directives".into(), json!({"query": format!("{{ __typename {} }}", "@include(if: true) ".repeat(100))})),
    ]
}

/// Tokens that must be refused wherever a token is accepted: garbage, `alg:
/// none`, HS256 keyed with the public key, another key under the real `kid`,
/// a tampered real token and, given the real signing key, an expired one.
/// `valid_token` is a real token from the auth service; `jwks` its key set.
pub fn hostile_tokens(valid_token: &str, jwks: &Value, signing_pem: Option<&str>) -> Vec<(&'static str, String)> {
    use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
    let parts: Vec<&str> = valid_token.split('.').collect();
    let mut claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).expect("payload")).expect("claims");
    let kid = jwks["keys"][0]["kid"].as_str().expect("kid").to_owned();
    let public_x = URL_SAFE_NO_PAD.decode(jwks["keys"][0]["x"].as_str().expect("x")).expect("public key");

    let mut tampered_claims = claims.clone();
    tampered_claims["role"] = json!("ADMIN");
    let tampered =
        format!("{}.{}.{}", parts[0], URL_SAFE_NO_PAD.encode(serde_json::to_vec(&tampered_claims).unwrap()), parts[2]);
    let none = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap())
    );
    let mut hs = Header::new(Algorithm::HS256);
    hs.kid = Some(kid.clone());
    let confused = encode(&hs, &claims, &EncodingKey::from_secret(&public_x)).expect("HS256");

    let other = crate::signing_key_pem();
    let mut ed = Header::new(Algorithm::EdDSA);
    ed.kid = Some(kid.clone());
    let wrong_key = encode(&ed, &claims, &EncodingKey::from_ed_pem(other.as_bytes()).unwrap()).expect("EdDSA");

    let mut tokens = vec![
        ("garbage", "not-a-token".to_owned()),
        ("three empty parts", "..".to_owned()),
        ("alg none", none),
        ("HS256 keyed with the public key", confused),
        ("another key under the real kid", wrong_key),
        ("tampered payload", tampered),
        ("truncated signature", valid_token[..valid_token.len() - 5].to_owned()),
        ("huge", "a".repeat(64 * 1024)),
    ];
    if let Some(pem) = signing_pem {
        let now = chrono::Utc::now().timestamp();
        claims["iat"] = json!(now - 7_200);
        claims["exp"] = json!(now - 3_600);
        let expired = encode(&ed, &claims, &EncodingKey::from_ed_pem(pem.as_bytes()).unwrap()).expect("expired");
        tokens.push(("expired", expired));
        claims["exp"] = json!(now + 3_600);
        claims["aud"] = json!("someone-else");
        let audience = encode(&ed, &claims, &EncodingKey::from_ed_pem(pem.as_bytes()).unwrap()).expect("aud");
        tokens.push(("wrong audience", audience));
    }
    tokens
}

/// Sends `body` as is; returns the status and the JSON body (null if none).
pub async fn send(request: reqwest::RequestBuilder, body: &RawBody) -> (u16, Value) {
    let response = request
        .header("content-type", body.content_type)
        .body(body.bytes.clone())
        .send()
        .await
        .unwrap_or_else(|e| panic!("{}: no response: {e}", body.name));
    let status = response.status().as_u16();
    let text = response.text().await.unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// The check every hostile REST case must pass: a 4xx with the contract's
/// error body `{ "error": { "code", "message" } }`.
pub fn assert_refused(case: &str, status: u16, body: &Value) {
    assert!((400..500).contains(&status), "{case}: expected a 4xx, got {status} {body}");
    assert!(body["error"]["code"].is_string(), "{case}: no error code in {body}");
    assert!(body["error"]["message"].is_string(), "{case}: no error message in {body}");
}

/// The check for a hostile GraphQL case: a 4xx, or a 200 whose errors all
/// carry a code; never a 5xx.
pub fn assert_graphql_refused(case: &str, status: u16, body: &Value) {
    assert!(status < 500, "{case}: {status} {body}");
    let errors = body["errors"].as_array().unwrap_or_else(|| panic!("{case}: no errors in {status} {body}"));
    assert!(!errors.is_empty(), "{case}: no errors in {body}");
    for error in errors {
        assert!(error["extensions"]["code"].is_string(), "{case}: an error without a code: {error}");
    }
}

/// A subgraph's `/graphql` as the GraphQL over HTTP specification asks, and
/// no cross-site request can use it: bodies a browser may send to any origin
/// without a preflight (`text/plain`, forms, no type) are refused with 415
/// before anything runs; `Accept` picks `application/json` or
/// `application/graphql-response+json` (400 without `data` for a request
/// that cannot run); an `Accept` of neither is 406. `mutation` is a document
/// whose execution would be visible (the caller checks that nothing was written).
/// No page is served there: a browser's `GET` gets 405 and no script (the
/// router's playground, from local files, is the playground).
pub async fn assert_graphql_over_http(http: &reqwest::Client, url: &str, mutation: &str) {
    let page = http.get(url).header("accept", "text/html").send().await.expect("response");
    assert_eq!(page.status(), 405, "GET /graphql serves nothing");
    let text = page.text().await.unwrap_or_default();
    assert!(!text.to_lowercase().contains("<script"), "no page, no script: {text:.200}");
    let body = serde_json::to_vec(&json!({"query": mutation})).unwrap();
    for content_type in
        [Some("text/plain"), Some("application/x-www-form-urlencoded"), Some("multipart/form-data; boundary=x"), None]
    {
        let mut request = http.post(url).body(body.clone());
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        let response = request.send().await.expect("response");
        assert_eq!(response.status(), 415, "{content_type:?} must not run");
        let answer: Value = response.json().await.unwrap_or(Value::Null);
        assert_graphql_refused(&format!("{content_type:?}"), 415, &answer);
    }
    let ask = |accept: Option<&'static str>, query: &str| {
        let mut request = http.post(url).json(&json!({"query": query}));
        if let Some(accept) = accept {
            request = request.header("accept", accept);
        }
        request.send()
    };
    let content_type = |response: &reqwest::Response| {
        response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned()
    };
    for accept in [None, Some("application/json"), Some("*/*"), Some("text/html, application/json;q=0.9")] {
        let response = ask(accept, "{ __typename }").await.unwrap();
        assert_eq!(response.status(), 200, "{accept:?}");
        assert!(content_type(&response).starts_with("application/json"), "{accept:?}: {}", content_type(&response));
        // In the legacy type, a request that cannot run is still a 200 with errors.
        let response = ask(accept, "{ __typename").await.unwrap();
        assert_eq!(response.status(), 200, "{accept:?}");
    }
    let modern = Some("application/graphql-response+json, application/json;q=0.9");
    let response = ask(modern, "{ __typename }").await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(content_type(&response), "application/graphql-response+json");
    assert!(response.json::<Value>().await.unwrap()["data"]["__typename"].is_string());
    for broken in ["{ __typename", "{ doesNotExist }"] {
        let response = ask(modern, broken).await.unwrap();
        assert_eq!(response.status(), 400, "{broken}");
        assert_eq!(content_type(&response), "application/graphql-response+json");
        let answer: Value = response.json().await.unwrap();
        assert!(answer.get("data").is_none(), "a request that did not run has no data: {answer}");
        assert_graphql_refused(broken, 400, &answer);
    }
    let response = ask(Some("text/html"), "{ __typename }").await.unwrap();
    assert_eq!(response.status(), 406);
}
