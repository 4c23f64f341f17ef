use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(super) struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Throttles nobody else can steer: failed logins now count per account
        // and address (`pair`, a hard block), per address (`address`), and per
        // account from anywhere (`email`, a soft lock that addresses the account
        // signed in from before are not held to: `login_known_addresses`).
        // Registrations count per address (`register`). The old per-email
        // blocks meant something else and are dropped.
        manager
            .get_connection()
            .execute_unprepared(
                r#"
                ALTER TABLE login_throttle DROP CONSTRAINT login_throttle_scope_check;
                DELETE FROM login_throttle WHERE scope = 'email';
                ALTER TABLE login_throttle ADD CONSTRAINT login_throttle_scope_check
                    CHECK (scope IN ('email', 'address', 'pair', 'register'));

                CREATE TABLE login_known_addresses (
                    email_key     text NOT NULL,
                    address       text NOT NULL,
                    last_login_at timestamptz NOT NULL DEFAULT now(),
                    PRIMARY KEY (email_key, address)
                );
                "#,
            )
            .await
            .map(|_| ())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(
                "DROP TABLE login_known_addresses;
                 DELETE FROM login_throttle WHERE scope NOT IN ('email', 'address');
                 ALTER TABLE login_throttle DROP CONSTRAINT login_throttle_scope_check;
                 ALTER TABLE login_throttle ADD CONSTRAINT login_throttle_scope_check
                     CHECK (scope IN ('email', 'address'));",
            )
            .await
            .map(|_| ())
    }
}
