//! Sigma rules: YAML with positions → documents → compiled IR → evaluation.

pub mod ast;
pub mod compile;
pub mod condition;
pub mod eval;
pub mod modifiers;
pub mod yaml;
