//! Persistence of users in `auth_schema` (SeaORM).

pub mod sessions;
pub mod throttle;
pub mod users;

use chrono::Utc;
use common::db::{Pool, StorageError};
use sea_orm::{
    sea_query::Expr, ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set, TransactionTrait,
};
use uuid::Uuid;

pub use users::{Model as UserRow, Profile as ProfileRow};

use crate::domain::User;

// Rows become domain users here, so the domain never sees a SeaORM model.
impl From<UserRow> for User {
    fn from(row: UserRow) -> Self {
        ProfileRow { id: row.id, email: row.email, name: row.name, role: row.role, created_at: row.created_at }.into()
    }
}

impl From<ProfileRow> for User {
    fn from(row: ProfileRow) -> Self {
        User {
            id: row.id,
            email: row.email,
            name: row.name,
            // The CHECK constraint allows only USER and ADMIN.
            role: common::auth::Role::parse(&row.role).unwrap_or(common::auth::Role::User),
            created_at: row.created_at.into(),
        }
    }
}

/// Named in the migration; a violation means the email is taken.
pub const EMAIL_UNIQUE: &str = "users_email_key";

pub struct NewUser<'a> {
    pub id: Uuid,
    pub email: &'a str,
    pub password_hash: &'a str,
    pub name: Option<&'a str>,
}

/// A new account and its first session, committed together: a failure in
/// between leaves neither, so the client can simply try again.
pub async fn insert_user_with_session(
    db: &Pool,
    user: NewUser<'_>,
    session: sessions::NewRefreshToken<'_>,
) -> Result<UserRow, StorageError> {
    let txn = db.begin().await?;
    let row = insert_user(&txn, user).await?;
    sessions::insert(&txn, session).await?;
    txn.commit().await?;
    Ok(row)
}

async fn insert_user(db: &impl ConnectionTrait, user: NewUser<'_>) -> Result<UserRow, StorageError> {
    let now = Utc::now();
    users::ActiveModel {
        id: Set(user.id),
        email: Set(user.email.to_owned()),
        password_hash: Set(user.password_hash.to_owned()),
        name: Set(user.name.map(str::to_owned)),
        role: Set(users::ROLE_USER.to_owned()),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await
    .map_err(StorageError::from)
}

pub async fn find_by_email(db: &Pool, email: &str) -> Result<Option<UserRow>, StorageError> {
    users::Entity::find().filter(users::Column::Email.eq(email)).one(db).await.map_err(StorageError::from)
}

pub async fn find_by_id(db: &Pool, id: Uuid) -> Result<Option<ProfileRow>, StorageError> {
    users::Entity::find_by_id(id).into_partial_model().one(db).await.map_err(StorageError::from)
}

/// Any number of users in one statement.
pub async fn find_by_ids(db: &Pool, ids: &[Uuid]) -> Result<Vec<ProfileRow>, StorageError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    users::Entity::find()
        .filter(Expr::cust_with_values("id = ANY($1)", [ids.to_vec()]))
        .into_partial_model()
        .all(db)
        .await
        .map_err(StorageError::from)
}

pub async fn update_password_hash(db: &Pool, id: Uuid, hash: &str) -> Result<(), StorageError> {
    users::Entity::update_many()
        .col_expr(users::Column::PasswordHash, Expr::value(hash))
        .col_expr(users::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(users::Column::Id.eq(id))
        .exec(db)
        .await
        .map_err(StorageError::from)
        .map(|_| ())
}

/// Returns whether a user with that email existed.
pub async fn set_role(db: &Pool, email: &str, role: &str) -> Result<bool, StorageError> {
    let result = users::Entity::update_many()
        .col_expr(users::Column::Role, Expr::value(role))
        .col_expr(users::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(users::Column::Email.eq(email))
        .exec(db)
        .await?;
    Ok(result.rows_affected > 0)
}
