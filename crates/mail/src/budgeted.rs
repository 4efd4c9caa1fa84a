//! A read-only view of a disk image that fails once a byte budget is read. The UDF and FAT
//! readers follow the image's own extents and cluster chains, which a crafted image can make
//! far longer than the image (or endless); reading through [`Budgeted`] bounds what any walk
//! can cost by what the message may still decompress.

use std::cell::Cell;
use std::io::{Cursor, Read, Seek, SeekFrom, Write};
use std::rc::Rc;

/// The image, and the bytes that may still be read from it (shared with the walk, which
/// tells a spent budget from other read errors). Writes fail: readers that ask for a writable
/// device (fatfs) get none.
pub(crate) struct Budgeted<'a> {
    inner: Cursor<&'a [u8]>,
    budget: Rc<Cell<u64>>,
}

impl<'a> Budgeted<'a> {
    pub(crate) fn new(image: &'a [u8], budget: Rc<Cell<u64>>) -> Self {
        Budgeted {
            inner: Cursor::new(image),
            budget,
        }
    }
}

impl Read for Budgeted<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let budget = self.budget.get();
        if budget == 0 && !buf.is_empty() {
            return Err(std::io::Error::other("the image's read budget is spent"));
        }
        let want = buf.len().min(usize::try_from(budget).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..want])?;
        self.budget.set(budget.saturating_sub(n as u64));
        Ok(n)
    }
}

impl Seek for Budgeted<'_> {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        self.inner.seek(pos)
    }
}

impl Write for Budgeted<'_> {
    fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
        Err(std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            "the image is read only",
        ))
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
