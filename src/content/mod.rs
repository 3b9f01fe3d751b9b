//! The domain: content types, their validation and their SQL, one module per resource.
//! Handlers call these functions; nothing outside this module builds queries.

pub mod pagination;
pub mod precondition;
pub mod slug;
pub mod tags;
pub mod text;
