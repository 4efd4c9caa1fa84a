//! Domain types shared by every Mamori crate. No I/O and no async live here.
