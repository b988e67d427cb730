//! Sink: Kingdee K/3 Cloud WebAPI client.
pub mod kingdee;
