//! The API's specification, as tests: each drives the real HTTP app against a real
//! PostgreSQL, on a database of its own.

mod access;
mod article_lists;
mod article_parts;
mod articles;
mod authors;
mod caching;
mod cli;
mod errors;
mod feeds;
mod field_rules;
mod hardening;
mod health;
mod helpers;
mod idempotency;
mod list_queries;
mod media;
mod openapi;
mod pending;
mod queries;
mod resilience;
mod revisions;
mod search;
mod sections;
mod seed;
mod seo_and_translations;
mod tags;
mod teasers;
mod trash;
mod webhooks;
mod workflow;
