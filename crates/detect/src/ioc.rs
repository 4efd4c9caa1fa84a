//! Indicator (IOC) matching.
