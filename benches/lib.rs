//! shared bench fixtures
