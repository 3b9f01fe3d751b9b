//! The domain: content types, their validation and their SQL, one module per resource.
//! Handlers call these functions; nothing outside this module builds queries.

pub mod article_access;
pub mod article_authors;
pub mod article_status;
pub mod article_tags;
pub mod articles;
pub mod authors;
pub mod changes;
pub mod citations;
pub mod events;
pub mod housekeeping;
pub mod key_points;
pub mod language;
pub mod markdown;
pub mod media;
pub mod pagination;
pub mod positions;
pub mod precondition;
pub mod sections;
pub mod serde_helpers;
pub mod slug;
pub mod tags;
pub mod text;
pub mod translations;
pub mod webhooks;
