//! ferry: moves Jushuitan (聚水潭) documents into Kingdee K/3 Cloud (金蝶云星空) exactly once.
//!
//! The folders follow the data path: `source` (Jushuitan client) → `mapping` (scheme mapping
//! engine) → `store` (sled outbox, dedupe index, checkpoints) → `sink` (Kingdee client), driven by
//! `pipeline` (actix actors). `sim` holds faithful simulators of both systems, `cli` the commands.

pub mod admin;
pub mod alert;
pub mod cli;
pub mod config;
pub mod http;
pub mod mapping;
pub mod pipeline;
pub mod process;
pub mod secret;
pub mod sim;
pub mod sink;
pub mod source;
pub mod store;
pub mod telemetry;
pub mod template;
pub mod time;
