//! A headless CMS for editorial content, as a library so that the tests build the
//! real app in-process. `main.rs` only calls [`cli::main`].

pub mod auth;
pub mod cli;
pub mod config;
pub mod content;
pub mod db;
pub mod error;
pub mod http;
pub mod openapi;
pub mod startup;
pub mod telemetry;
