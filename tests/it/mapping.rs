//! mapping tests
