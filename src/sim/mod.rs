//! Simulators of Jushuitan and Kingdee, for tests, benches, the demo and `ferry sim`.
pub mod jushuitan;
pub mod kingdee;
