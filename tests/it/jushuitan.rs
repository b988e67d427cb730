//! jushuitan tests
