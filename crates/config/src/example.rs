//! The documented example file, `mamori.example.toml` at the workspace root.

/// A commented `mamori.toml` listing every key with its default.
pub const EXAMPLE: &str = include_str!("../../../mamori.example.toml");
