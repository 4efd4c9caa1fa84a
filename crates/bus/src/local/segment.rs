//! The record framing of local segment files, and scanning a segment's bytes.
//!
//! A segment file `{first_seq:020}.seg` holds consecutive records:
//!
//! ```text
//! len: u32 LE | crc32(body): u32 LE | body = seq: u64 LE | unix_ms: u64 LE | id_len: u16 LE | id | payload
//! ```
//!
//! Records only ever get appended, so a crash can leave at most a torn record at the end. The
//! decoder never panics on any input (a property test feeds it arbitrary bytes); it reports
//! whether the bytes hold a whole valid record, the start of one, or garbage.

/// Bytes before the body: length and CRC.
pub(crate) const HEADER: usize = 8;
/// Fixed part of the body: seq, timestamp, id length.
const BODY_FIXED: usize = 18;
/// No body is larger than this (1 GiB): a larger length field is garbage, not a record.
pub(crate) const MAX_BODY: usize = 1 << 30;

/// One decoded record, borrowing from the buffer.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Record<'a> {
    pub seq: u64,
    pub unix_ms: u64,
    pub msg_id: &'a str,
    pub payload: &'a [u8],
}

/// What the bytes at some offset hold.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Frame<'a> {
    /// A valid record and its whole length (header included).
    Record(Record<'a>, usize),
    /// The start of a record whose rest is missing (a torn write, or the buffer ends).
    Incomplete,
    /// Not a valid record.
    Corrupt(&'static str),
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    b.get(at..at + 4)
        .and_then(|s| s.try_into().ok())
        .map(u32::from_le_bytes)
}

fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    b.get(at..at + 8)
        .and_then(|s| s.try_into().ok())
        .map(u64::from_le_bytes)
}

/// The length a record with this id and payload takes on disk.
pub(crate) fn encoded_len(msg_id: &str, payload_len: usize) -> usize {
    HEADER + BODY_FIXED + msg_id.len() + payload_len
}

/// Appends one framed record to `out`. `msg_id` is at most `u16::MAX` bytes (checked by callers).
pub(crate) fn encode(out: &mut Vec<u8>, seq: u64, unix_ms: u64, msg_id: &str, payload: &[u8]) {
    let body_len = BODY_FIXED + msg_id.len() + payload.len();
    let start = out.len();
    out.extend_from_slice(&(body_len as u32).to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&seq.to_le_bytes());
    out.extend_from_slice(&unix_ms.to_le_bytes());
    out.extend_from_slice(&(msg_id.len() as u16).to_le_bytes());
    out.extend_from_slice(msg_id.as_bytes());
    out.extend_from_slice(payload);
    let crc = crc32fast::hash(&out[start + HEADER..]);
    out[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
}

/// Decodes the record at the start of `buf`.
pub(crate) fn decode(buf: &[u8]) -> Frame<'_> {
    let (Some(len), Some(crc)) = (u32_at(buf, 0), u32_at(buf, 4)) else {
        return Frame::Incomplete;
    };
    let len = len as usize;
    if !(BODY_FIXED..=MAX_BODY).contains(&len) {
        return Frame::Corrupt("impossible record length");
    }
    let Some(body) = buf.get(HEADER..HEADER + len) else {
        return Frame::Incomplete;
    };
    if crc32fast::hash(body) != crc {
        return Frame::Corrupt("checksum mismatch");
    }
    let (Some(seq), Some(unix_ms)) = (u64_at(body, 0), u64_at(body, 8)) else {
        return Frame::Corrupt("short body");
    };
    let id_len = body
        .get(16..18)
        .map(|s| u16::from_le_bytes([s[0], s[1]]) as usize)
        .unwrap_or(usize::MAX);
    let Some(id) = body.get(BODY_FIXED..BODY_FIXED.saturating_add(id_len)) else {
        return Frame::Corrupt("message id longer than the record");
    };
    let Ok(msg_id) = std::str::from_utf8(id) else {
        return Frame::Corrupt("message id is not UTF-8");
    };
    let payload = body.get(BODY_FIXED + id_len..).unwrap_or_default();
    Frame::Record(
        Record {
            seq,
            unix_ms,
            msg_id,
            payload,
        },
        HEADER + len,
    )
}

/// One record found by [`scan`].
#[derive(Debug)]
pub(crate) struct Scanned {
    pub offset: u64,
    pub len: u32,
    pub unix_ms: u64,
    pub msg_id: String,
}

/// The valid prefix of a segment.
#[derive(Debug)]
pub(crate) struct Scan {
    pub records: Vec<Scanned>,
    /// Bytes of whole valid records from the start; anything after is to be truncated.
    pub valid_len: u64,
    /// Why the scan stopped before the end of the buffer, if it did.
    pub problem: Option<&'static str>,
}

/// Walks the records of a segment whose first record has sequence `first_seq`, stopping at the
/// first torn, corrupt or out-of-sequence record.
pub(crate) fn scan(buf: &[u8], first_seq: u64) -> Scan {
    let mut records = Vec::new();
    let mut at = 0usize;
    let mut problem = None;
    while at < buf.len() {
        match decode(&buf[at..]) {
            Frame::Record(r, len) => {
                if r.seq != first_seq.wrapping_add(records.len() as u64) {
                    problem = Some("record out of sequence");
                    break;
                }
                records.push(Scanned {
                    offset: at as u64,
                    len: len as u32,
                    unix_ms: r.unix_ms,
                    msg_id: r.msg_id.to_owned(),
                });
                at += len;
            }
            Frame::Incomplete => {
                problem = Some("torn record at the end");
                break;
            }
            Frame::Corrupt(why) => {
                problem = Some(why);
                break;
            }
        }
    }
    Scan {
        records,
        valid_len: at as u64,
        problem,
    }
}

/// The file name of the segment starting at `first_seq`.
pub(crate) fn file_name(first_seq: u64) -> String {
    format!("{first_seq:020}.seg")
}

/// The first sequence of a segment file name, if it is one.
pub(crate) fn parse_file_name(name: &str) -> Option<u64> {
    let digits = name.strip_suffix(".seg")?;
    if digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn round_trip_and_torn_tail() {
        let mut buf = Vec::new();
        encode(&mut buf, 7, 1000, "id-1", b"hello");
        encode(&mut buf, 8, 1001, "", b"");
        let whole = buf.len();
        encode(&mut buf, 9, 1002, "id-3", &[0xAB; 100]);
        let s = scan(&buf, 7);
        assert_eq!(s.records.len(), 3);
        assert_eq!(s.records[0].msg_id, "id-1");
        assert!(s.problem.is_none());
        let torn = &buf[..buf.len() - 3];
        let s = scan(torn, 7);
        assert_eq!(s.records.len(), 2);
        assert_eq!(s.valid_len, whole as u64);
        assert_eq!(s.problem, Some("torn record at the end"));
        let mut flipped = buf.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        assert_eq!(scan(&flipped, 7).problem, Some("checksum mismatch"));
        assert_eq!(scan(&buf, 8).problem, Some("record out of sequence"));
        match decode(&buf) {
            Frame::Record(r, _) => assert_eq!(r.payload, b"hello"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn file_names() {
        assert_eq!(parse_file_name(&file_name(42)), Some(42));
        assert_eq!(parse_file_name("42.seg"), None);
        assert_eq!(parse_file_name("0000000000000000004x.seg"), None);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        #[test]
        fn decoder_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512), first in any::<u64>()) {
            let s = scan(&bytes, first);
            prop_assert!(s.valid_len as usize <= bytes.len());
            let _ = decode(&bytes);
        }

        #[test]
        fn valid_prefix_survives_garbage_tail(
            payloads in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..64), 1..8),
            tail in proptest::collection::vec(any::<u8>(), 0..64),
        ) {
            let mut buf = Vec::new();
            for (i, p) in payloads.iter().enumerate() {
                encode(&mut buf, 1 + i as u64, 5, "m", p);
            }
            let good = buf.len();
            buf.extend_from_slice(&tail);
            let s = scan(&buf, 1);
            prop_assert!(s.records.len() >= payloads.len());
            prop_assert!(s.valid_len as usize >= good);
        }
    }
}
