//! The one integration-test binary: modules per area, shared helpers in `helpers`.

mod admin;
mod admin_api;
mod alerts;
mod answers;
mod budget;
mod cli;
mod config;
mod config_mistakes;
mod console;
mod helpers;
mod jushuitan;
mod kingdee;
mod logs;
mod mapping;
mod numbers;
mod pipeline;
mod preview;
mod proxy;
mod service;
mod store;
mod templates;
mod tokens;
mod upkeep;
mod windows;
