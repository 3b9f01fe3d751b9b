//! Work no request asks for: dropping revisions past the retention setting and
//! purging articles trashed longer than the trash keeps them. Safe to run on every
//! replica at once: each step is one idempotent `DELETE`.

use std::time::Duration;

use diesel_async::AsyncPgConnection;

use crate::content::articles::{revisions, trash};
use crate::error::AppResult;

/// How often a server does the housekeeping.
pub const EVERY: Duration = Duration::from_secs(600);

/// What the housekeeping keeps (from `CMS_REVISIONS_KEEP` and
/// `CMS_TRASH_PURGE_AFTER_DAYS`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Retention {
    /// The newest revisions kept per article; `None`: all.
    pub revisions_keep: Option<u32>,
    /// How long the trash keeps an article; `None`: until an admin purges it.
    pub trash_purge_after: Option<Duration>,
}

/// What one round removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Removed {
    pub revisions: usize,
    pub trashed_articles: usize,
}

impl Retention {
    /// Whether there is anything to do at all.
    pub fn keeps_everything(&self) -> bool {
        self.revisions_keep.is_none() && self.trash_purge_after.is_none()
    }

    /// One round of housekeeping.
    pub async fn apply(&self, conn: &mut AsyncPgConnection) -> AppResult<Removed> {
        let mut removed = Removed::default();
        if let Some(age) = self.trash_purge_after {
            removed.trashed_articles = trash::purge_older_than(conn, age).await?;
        }
        if let Some(keep) = self.revisions_keep {
            removed.revisions = revisions::prune(conn, keep).await?;
        }
        Ok(removed)
    }
}
