//! Source: Jushuitan open platform client.
pub mod jushuitan;
