//! onsale coordinator.
pub mod store;
