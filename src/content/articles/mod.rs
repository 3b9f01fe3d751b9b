//! Articles: whole articles written and read in one request, and their workflow.
//! The parts (key-point lists, citations, tags) have modules of their own; what
//! names an article, who may see it and the write hook are in
//! [`article_access`](crate::content::article_access), which both build on.

mod body;
mod input;
pub mod pending;
pub mod preview;
mod read;
mod related;
pub mod revisions;
mod search;
pub mod seo;
mod teaser;
pub mod trash;
mod types;
mod workflow;
mod write;

pub use crate::content::article_access::{parse_key, ArticleKey, Audience};
pub use body::MAX_BODY_MEDIA;
pub use read::{body_sizes, count, explain_list, find, find_many, list};
pub use related::{related, DEFAULT_RELATED, MAX_RELATED};
pub use search::{parse_query, MAX_QUERY_CHARS};
pub use teaser::{
    backfill as backfill_teasers, DEFAULT_EXCERPT_CHARS, MAX_EXCERPT_CHARS, WORDS_PER_MINUTE,
};
pub use types::*;
pub use workflow::{transition, Transition};
pub use write::{create, delete, replace, update};
