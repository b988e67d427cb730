//! helpers tests
