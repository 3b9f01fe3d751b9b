//! An article's status: as stored (draft, published, archived) and as readers see
//! it (published with a date still to come reads as scheduled). The one mapping of
//! statuses to the database; nothing else spells them.

use std::io::Write;

use chrono::{DateTime, Utc};
use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::expression::AsExpression;
use diesel::pg::{Pg, PgValue};
use diesel::serialize::{self, IsNull, Output, ToSql};
use diesel::sql_types::Text;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Where an article is in its life. `scheduled` is a published article whose
/// `published_at` is still in the future; it turns `published` at that moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Draft,
    Scheduled,
    Published,
    Archived,
}

impl Status {
    /// Its name, as in JSON.
    pub const fn as_str(self) -> &'static str {
        match self {
            Status::Draft => "draft",
            Status::Scheduled => "scheduled",
            Status::Published => "published",
            Status::Archived => "archived",
        }
    }
}

/// The status column: what is stored. "Scheduled" is not stored: it is `Published`
/// with a future `published_at`, decided when reading, so that no job has to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, AsExpression, FromSqlRow)]
#[diesel(sql_type = Text)]
pub enum StoredStatus {
    Draft,
    Published,
    Archived,
}

impl StoredStatus {
    /// The value in the column (its `CHECK` constraint lists the same three).
    pub const fn as_str(self) -> &'static str {
        match self {
            StoredStatus::Draft => "draft",
            StoredStatus::Published => "published",
            StoredStatus::Archived => "archived",
        }
    }

    /// The status as readers see it at `now`.
    pub fn seen_at(self, published_at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Status {
        match self {
            StoredStatus::Published if published_at.is_some_and(|at| at > now) => Status::Scheduled,
            StoredStatus::Published => Status::Published,
            StoredStatus::Archived => Status::Archived,
            StoredStatus::Draft => Status::Draft,
        }
    }
}

impl ToSql<Text, Pg> for StoredStatus {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        out.write_all(self.as_str().as_bytes())?;
        Ok(IsNull::No)
    }
}

impl FromSql<Text, Pg> for StoredStatus {
    fn from_sql(value: PgValue<'_>) -> deserialize::Result<Self> {
        match value.as_bytes() {
            b"draft" => Ok(StoredStatus::Draft),
            b"published" => Ok(StoredStatus::Published),
            b"archived" => Ok(StoredStatus::Archived),
            other => Err(format!(
                "unknown article status {:?}",
                String::from_utf8_lossy(other)
            )
            .into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_with_a_future_date_reads_as_scheduled() {
        let now = Utc::now();
        let later = now + chrono::Duration::hours(1);
        let published = StoredStatus::Published;
        assert_eq!(published.seen_at(Some(later), now), Status::Scheduled);
        assert_eq!(published.seen_at(Some(now), now), Status::Published);
        assert_eq!(
            StoredStatus::Archived.seen_at(Some(later), now),
            Status::Archived
        );
        assert_eq!(StoredStatus::Draft.seen_at(None, now), Status::Draft);
    }
}
