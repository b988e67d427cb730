//! The one integration-test binary: modules per area, shared helpers in `helpers`.

mod admin;
mod answers;
mod cli;
mod config;
mod config_mistakes;
mod helpers;
mod jushuitan;
mod kingdee;
mod mapping;
mod numbers;
mod pipeline;
mod preview;
mod proxy;
mod service;
mod store;
mod tokens;
mod windows;
