use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(super) struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Emails are stored normalised (trimmed, lower case), so a plain UNIQUE
        // constraint makes them unique case-insensitively; the CHECK keeps it so.
        manager
            .get_connection()
            .execute_unprepared(
                r#"
                CREATE TABLE users (
                    id            uuid PRIMARY KEY,
                    email         text NOT NULL,
                    password_hash text NOT NULL,
                    name          text,
                    role          text NOT NULL DEFAULT 'USER',
                    created_at    timestamptz NOT NULL DEFAULT now(),
                    updated_at    timestamptz NOT NULL DEFAULT now(),
                    CONSTRAINT users_email_key UNIQUE (email),
                    CONSTRAINT users_email_normalized CHECK (email = lower(btrim(email)) AND email <> ''),
                    CONSTRAINT users_role_check CHECK (role IN ('USER', 'ADMIN')),
                    CONSTRAINT users_name_length CHECK (char_length(name) <= 200)
                );
                "#,
            )
            .await
            .map(|_| ())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.get_connection().execute_unprepared("DROP TABLE users").await.map(|_| ())
    }
}
