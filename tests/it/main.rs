//! The one integration-test binary: modules per area, shared helpers in `helpers`.

mod cli;
mod config;
mod helpers;
mod jushuitan;
mod kingdee;
mod mapping;
mod numbers;
mod pipeline;
mod preview;
mod store;
