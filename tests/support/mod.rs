//! test support

pub mod sigv4_suite;
pub mod embedded;
pub mod fault_proxy;
