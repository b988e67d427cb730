//! kingdee tests
