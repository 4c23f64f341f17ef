use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(super) struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Refresh tokens are opaque random strings; only their SHA-256 is kept.
        // A login starts a family; each refresh marks its token used and adds
        // the next one to the family. A used token presented again means it
        // was stolen: the whole family is revoked.
        //
        // Failed logins are counted per key (a hashed email, or a client
        // address) in a fixed window; past the limit the key is blocked until
        // `blocked_until`. Kept here rather than in memory so that it holds
        // across restarts and replicas.
        manager
            .get_connection()
            .execute_unprepared(
                r#"
                CREATE TABLE refresh_tokens (
                    id          uuid PRIMARY KEY,
                    family_id   uuid NOT NULL,
                    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                    token_hash  bytea NOT NULL,
                    expires_at  timestamptz NOT NULL,
                    created_at  timestamptz NOT NULL DEFAULT now(),
                    used_at     timestamptz,
                    revoked_at  timestamptz,
                    CONSTRAINT refresh_tokens_hash_key UNIQUE (token_hash)
                );
                CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);
                CREATE INDEX refresh_tokens_user_idx ON refresh_tokens (user_id);

                CREATE TABLE login_throttle (
                    scope             text NOT NULL,
                    key               text NOT NULL,
                    failures          integer NOT NULL,
                    window_started_at timestamptz NOT NULL,
                    blocked_until     timestamptz,
                    PRIMARY KEY (scope, key),
                    CONSTRAINT login_throttle_scope_check CHECK (scope IN ('email', 'address'))
                );
                "#,
            )
            .await
            .map(|_| ())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("DROP TABLE login_throttle; DROP TABLE refresh_tokens;")
            .await
            .map(|_| ())
    }
}
