//! test support

pub mod embedded;
pub mod fault_proxy;
pub mod sigv4_suite;
