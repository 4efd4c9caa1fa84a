//! `mamori`: the single binary. Parses the command line and hands each subcommand to its module.

mod cmd;

// The hub's ingestion path allocates many small, short-lived values (JSON maps, event fields);
// mimalloc serves those markedly faster than glibc's allocator (see docs/benchmarks.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::process::ExitCode;

use clap::Parser;

/// `mi_option_purge_delay` in the mimalloc.h that libmimalloc-sys vendors (v2 and v3 alike:
/// between `mi_option_eager_commit_delay` = 14 and `mi_option_use_numa_nodes` = 16, which the
/// crate does name). The crate has no constant for it.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Milliseconds freed memory stays mapped before mimalloc returns it to the OS. mimalloc's
/// default (10 ms) returns the memory of every ingested batch between batches and faults it
/// back in for the next: about 9 % of the hub's CPU under load (perf, docs/benchmarks.md).
/// One second keeps it mapped while batches keep coming and still gives it back when idle.
const PURGE_DELAY_MS: std::ffi::c_long = 1000;

/// Sets [`PURGE_DELAY_MS`] unless `MIMALLOC_PURGE_DELAY` says otherwise.
#[allow(unsafe_code)] // one FFI call; the measured reason is in docs/benchmarks.md
fn keep_freed_memory_mapped() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: mi_option_set stores an integer in mimalloc's option table (an atomic
        // store); any value is valid for this option, and no allocation depends on it.
        unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, PURGE_DELAY_MS) };
    }
}

/// Turns transparent huge pages off for this process unless `MIMALLOC_ALLOW_THP` says
/// otherwise. With THP on, every fresh 2 MiB region mimalloc touches for a batch is a huge page
/// zeroed by the kernel (5.9 % of the hub's CPU under load, `clear_page_erms` in perf); with it
/// off the hub's peak memory fell by about 85 MB and its CPU per event by about 2 %, inside
/// the run-to-run spread (docs/benchmarks.md, "Transparent huge pages off"). mimalloc reads its own option before `main`, so it is set here with
/// `prctl`, which applies to every later fault of the process.
fn no_transparent_huge_pages() {
    #[cfg(target_os = "linux")]
    if std::env::var_os("MIMALLOC_ALLOW_THP").is_none() {
        // Best effort: an old kernel without the flag keeps huge pages, nothing else changes.
        let _ = rustix::thread::disable_transparent_huge_pages(true);
    }
}

fn main() -> ExitCode {
    keep_freed_memory_mapped();
    no_transparent_huge_pages();
    let cli = cmd::Cli::parse();
    match cmd::run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}
