//! The one integration-test binary: modules per area, shared helpers in `helpers`.

mod answers;
mod cli;
mod config;
mod helpers;
mod jushuitan;
mod kingdee;
mod mapping;
mod pipeline;
mod proxy;
mod store;
mod tokens;
