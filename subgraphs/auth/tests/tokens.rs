//! JWKS round trip: tokens from login verify with the shared library using
//! only the published keys; forged, confused and stale tokens are refused.

mod helpers;

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use common::auth::{Claims, Role, TokenError, TokenRules, TokenVerifier};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;

fn claims(sub: uuid::Uuid) -> Claims {
    let now = chrono::Utc::now().timestamp();
    Claims {
        sub,
        email: "user@example.com".into(),
        role: Role::User,
        iat: now,
        exp: now + 3600,
        nbf: None,
        iss: common::auth::DEFAULT_ISSUER.into(),
        aud: common::auth::DEFAULT_AUDIENCE.into(),
        jti: uuid::Uuid::new_v4().to_string(),
    }
}

#[tokio::test]
async fn login_tokens_verify_through_the_jwks_and_forgeries_do_not() {
    let app = helpers::spawn().await;
    let registered = app.register("user@example.com", "securepass").await;
    let user_id: uuid::Uuid = registered["user"]["id"].as_str().unwrap().parse().unwrap();
    let login = app.auth_post("/auth/login", json!({"email": "user@example.com", "password": "securepass"})).await;
    let token = login.json::<serde_json::Value>().await.unwrap()["token"].as_str().unwrap().to_owned();

    let jwks: jsonwebtoken::jwk::JwkSet = app.auth.get_json("/.well-known/jwks.json").await;
    assert_eq!(jwks.keys.len(), 1);
    let kid = jwks.keys[0].common.key_id.clone().unwrap();
    let jwks_json = serde_json::to_string(&jwks).unwrap();
    assert!(!jwks_json.contains("\"d\""), "the JWKS must hold public keys only");

    let verifier = TokenVerifier::remote(app.auth.url("/.well-known/jwks.json"), TokenRules::default());
    let verified = verifier.verify(&token).await.expect("a login token verifies through the JWKS");
    assert_eq!(verified.sub, user_id);
    assert_eq!(verified.role, Role::User);
    let header = jsonwebtoken::decode_header(&token).unwrap();
    assert_eq!(header.alg, Algorithm::EdDSA);
    assert_eq!(header.kid.as_deref(), Some(kid.as_str()));

    let signer = auth_service::keys::SigningKeys::from_pem(&app.auth_key_pem).unwrap();

    // Expired, wrong audience, wrong issuer, not yet valid: signed with the real key.
    let mut expired = claims(user_id);
    expired.exp = chrono::Utc::now().timestamp() - 3600;
    assert_eq!(verifier.verify(&signer.sign(&expired).unwrap()).await, Err(TokenError::Expired));
    let mut audience = claims(user_id);
    audience.aud = "someone-else".into();
    assert_eq!(verifier.verify(&signer.sign(&audience).unwrap()).await, Err(TokenError::WrongAudience));
    let mut issuer = claims(user_id);
    issuer.iss = "evil".into();
    assert_eq!(verifier.verify(&signer.sign(&issuer).unwrap()).await, Err(TokenError::WrongIssuer));
    let mut future = claims(user_id);
    future.nbf = Some(chrono::Utc::now().timestamp() + 3600);
    assert_eq!(verifier.verify(&signer.sign(&future).unwrap()).await, Err(TokenError::NotYetValid));

    // Tampered payload (promoting oneself to ADMIN) keeps the old signature.
    let parts: Vec<&str> = token.split('.').collect();
    let mut payload: serde_json::Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    payload["role"] = json!("ADMIN");
    let tampered = format!("{}.{}.{}", parts[0], URL_SAFE_NO_PAD.encode(payload.to_string()), parts[2]);
    assert_eq!(verifier.verify(&tampered).await, Err(TokenError::BadSignature));

    // alg: none.
    let none_header = URL_SAFE_NO_PAD.encode(json!({"alg": "none", "typ": "JWT", "kid": kid}).to_string());
    let unsigned = format!("{none_header}.{}.", parts[1]);
    assert!(matches!(
        verifier.verify(&unsigned).await,
        Err(TokenError::AlgorithmNotAllowed(_)) | Err(TokenError::Malformed)
    ));

    // HS256 keyed with the public key (algorithm confusion).
    let public_x = URL_SAFE_NO_PAD
        .decode(match &jwks.keys[0].algorithm {
            jsonwebtoken::jwk::AlgorithmParameters::OctetKeyPair(p) => p.x.clone(),
            other => panic!("unexpected key {other:?}"),
        })
        .unwrap();
    let mut hs_header = Header::new(Algorithm::HS256);
    hs_header.kid = Some(kid.clone());
    let confused = jsonwebtoken::encode(&hs_header, &claims(user_id), &EncodingKey::from_secret(&public_x)).unwrap();
    assert!(matches!(verifier.verify(&confused).await, Err(TokenError::AlgorithmNotAllowed(_))));

    // Signed by another Ed25519 key: under the real kid, and under its own.
    let other_pem = test_support::signing_key_pem();
    let mut ed_header = Header::new(Algorithm::EdDSA);
    ed_header.kid = Some(kid.clone());
    let wrong_key =
        jsonwebtoken::encode(&ed_header, &claims(user_id), &EncodingKey::from_ed_pem(other_pem.as_bytes()).unwrap())
            .unwrap();
    assert_eq!(verifier.verify(&wrong_key).await, Err(TokenError::BadSignature));
    let other_signer = auth_service::keys::SigningKeys::from_pem(&other_pem).unwrap();
    assert_eq!(verifier.verify(&other_signer.sign(&claims(user_id)).unwrap()).await, Err(TokenError::UnknownKey));

    // The REST validate endpoint agrees.
    for bad in [&tampered, &confused, &wrong_key] {
        let response = app.auth.http.post(app.auth.url("/auth/validate")).bearer_auth(bad).send().await.unwrap();
        assert_eq!(response.status(), 401);
    }
}

#[tokio::test]
async fn several_keys_are_published_for_rotation_and_the_first_signs() {
    let (new, old) = (test_support::signing_key_pem(), test_support::signing_key_pem());
    let keys = auth_service::keys::SigningKeys::from_pem(&format!("{new}{old}")).unwrap();
    let jwks = keys.jwks();
    assert_eq!(jwks.keys.len(), 2);
    let token = keys.sign(&claims(uuid::Uuid::new_v4())).unwrap();
    assert_eq!(jsonwebtoken::decode_header(&token).unwrap().kid, jwks.keys[0].common.key_id);
    // A token signed earlier by the old key still verifies.
    let old_token =
        auth_service::keys::SigningKeys::from_pem(&old).unwrap().sign(&claims(uuid::Uuid::new_v4())).unwrap();
    let verifier = TokenVerifier::from_jwks(&jwks, TokenRules::default());
    assert!(verifier.verify(&old_token).await.is_ok());
}

#[tokio::test]
async fn production_refuses_to_start_without_a_signing_key() {
    let env = common::config::Env::from_pairs([
        ("DATABASE_URL", "postgresql://auth_user:pw@localhost:5432/postgres?schema=auth_schema"),
        ("NODE_ENV", "production"),
        ("SERVICE_SECRET", test_support::TEST_SERVICE_SECRET),
    ]);
    let err = auth_service::config::AuthSettings::from_env(&env).unwrap_err();
    assert!(err.to_string().contains("JWT_PRIVATE_KEY is not set"), "{err}");
}
