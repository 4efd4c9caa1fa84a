//! Syslog stream framing (RFC 6587): octet counting (`LEN SP MSG`) or non-transparent
//! framing (one message per line), chosen per connection by its first byte (a digit means
//! octet counting, since a syslog message starts with `<`). Never panics on any input;
//! oversized messages are reported and skipped, a broken length prefix ends the stream.

/// What the framer found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A complete message (without its framing and line break).
    Message(Vec<u8>),
    /// A message longer than the limit was skipped (its length so far).
    TooLong(usize),
}

/// The stream cannot be framed any more (the connection should be closed).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad octet-counting frame: {0}")]
pub struct FramingError(pub String);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Unknown,
    Newline,
    Octet,
}

/// Incremental framer for one connection.
#[derive(Debug)]
pub struct Framer {
    mode: Mode,
    max: usize,
    buf: Vec<u8>,
    /// Newline mode: discarding the rest of an oversized line.
    discarding: bool,
    /// Octet mode: bytes of an oversized message still to skip.
    skip: usize,
}

/// Longest length prefix accepted (digits).
const MAX_DIGITS: usize = 10;

impl Framer {
    /// A framer that accepts messages of up to `max` bytes.
    pub fn new(max: usize) -> Self {
        Framer {
            mode: Mode::Unknown,
            max: max.max(1),
            buf: Vec::new(),
            discarding: false,
            skip: 0,
        }
    }

    /// Feeds bytes; complete frames are appended to `out`.
    pub fn push(&mut self, mut data: &[u8], out: &mut Vec<Frame>) -> Result<(), FramingError> {
        if self.mode == Mode::Unknown {
            let skip_ws = data.iter().take_while(|b| b.is_ascii_whitespace()).count();
            data = &data[skip_ws..];
            match data.first() {
                None => return Ok(()),
                Some(b) if b.is_ascii_digit() => self.mode = Mode::Octet,
                Some(_) => self.mode = Mode::Newline,
            }
        }
        match self.mode {
            Mode::Octet => self.push_octet(data, out),
            _ => {
                self.push_newline(data, out);
                Ok(())
            }
        }
    }

    fn push_newline(&mut self, data: &[u8], out: &mut Vec<Frame>) {
        let mut rest = data;
        while !rest.is_empty() {
            match memchr::memchr(b'\n', rest) {
                Some(i) => {
                    if self.discarding {
                        self.discarding = false;
                    } else {
                        self.buf.extend_from_slice(&rest[..i]);
                        let mut msg = std::mem::take(&mut self.buf);
                        if msg.last() == Some(&b'\r') {
                            msg.pop();
                        }
                        if msg.len() > self.max {
                            out.push(Frame::TooLong(msg.len()));
                        } else if !msg.is_empty() {
                            out.push(Frame::Message(msg));
                        }
                    }
                    rest = &rest[i + 1..];
                }
                None => {
                    if !self.discarding {
                        self.buf.extend_from_slice(rest);
                        // +1: room for a trailing CR.
                        if self.buf.len() > self.max + 1 {
                            out.push(Frame::TooLong(self.buf.len()));
                            self.buf = Vec::new();
                            self.discarding = true;
                        }
                    }
                    rest = &[];
                }
            }
        }
    }

    fn push_octet(&mut self, data: &[u8], out: &mut Vec<Frame>) -> Result<(), FramingError> {
        let mut rest = data;
        if self.skip > 0 {
            let n = self.skip.min(rest.len());
            self.skip -= n;
            rest = &rest[n..];
            if self.skip > 0 {
                return Ok(());
            }
        }
        if rest.is_empty() {
            return Ok(());
        }
        self.buf.extend_from_slice(rest);
        // Parse as many frames from buf as possible.
        let buf = std::mem::take(&mut self.buf);
        let mut pos = 0;
        loop {
            // Whitespace (e.g. a stray line break) between frames is tolerated.
            while pos < buf.len() && buf[pos].is_ascii_whitespace() {
                pos += 1;
            }
            let digits = buf[pos..].iter().take_while(|b| b.is_ascii_digit()).count();
            if pos + digits == buf.len() {
                if digits > MAX_DIGITS {
                    return Err(FramingError(format!("length of {digits} digits")));
                }
                self.buf = buf[pos..].to_vec();
                return Ok(());
            }
            if digits == 0 || digits > MAX_DIGITS || buf[pos + digits] != b' ' {
                let shown =
                    String::from_utf8_lossy(&buf[pos..buf.len().min(pos + 20)]).into_owned();
                return Err(FramingError(format!("expected LEN SP at {shown:?}")));
            }
            let len: usize = std::str::from_utf8(&buf[pos..pos + digits])
                .ok()
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| FramingError("length out of range".into()))?;
            let body = pos + digits + 1;
            if len > self.max {
                out.push(Frame::TooLong(len));
                let have = buf.len() - body;
                if have >= len {
                    pos = body + len;
                    continue;
                }
                self.skip = len - have;
                self.buf.clear();
                return Ok(());
            }
            if buf.len() - body < len {
                self.buf = buf[pos..].to_vec();
                return Ok(());
            }
            let mut msg = buf[body..body + len].to_vec();
            if msg.last() == Some(&b'\n') {
                msg.pop();
            }
            if msg.last() == Some(&b'\r') {
                msg.pop();
            }
            if !msg.is_empty() {
                out.push(Frame::Message(msg));
            }
            pos = body + len;
        }
    }

    /// The end of the stream: a last unterminated line counts as a message.
    pub fn finish(&mut self, out: &mut Vec<Frame>) {
        if self.mode == Mode::Newline && !self.discarding && !self.buf.is_empty() {
            let mut msg = std::mem::take(&mut self.buf);
            if msg.last() == Some(&b'\r') {
                msg.pop();
            }
            if msg.len() > self.max {
                out.push(Frame::TooLong(msg.len()));
            } else {
                out.push(Frame::Message(msg));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn frames(f: &mut Framer, chunks: &[&[u8]]) -> Result<Vec<Frame>, FramingError> {
        let mut out = Vec::new();
        for c in chunks {
            f.push(c, &mut out)?;
        }
        f.finish(&mut out);
        Ok(out)
    }

    fn msg(s: &str) -> Frame {
        Frame::Message(s.as_bytes().to_vec())
    }

    #[test]
    fn newline_and_octet() {
        let mut f = Framer::new(100);
        let out = frames(&mut f, &[b"<1>a\r\n<2>b", b"\n<3>c"]).unwrap();
        assert_eq!(out, [msg("<1>a"), msg("<2>b"), msg("<3>c")]);
        let mut f = Framer::new(100);
        let out = frames(&mut f, &[b"4 <1>a5 <2>b\n", b"3 <3", b">"]).unwrap();
        assert_eq!(out, [msg("<1>a"), msg("<2>b"), msg("<3>")]);
    }

    #[test]
    fn oversize_is_skipped() {
        let mut f = Framer::new(4);
        let out = frames(&mut f, &[b"<1>abcdef\n<2>b\n"]).unwrap();
        assert_eq!(out, [Frame::TooLong(9), msg("<2>b")]);
        let mut f = Framer::new(4);
        let out = frames(&mut f, &[b"9 <1>ab", b"cdef4 <2>b"]).unwrap();
        assert_eq!(out, [Frame::TooLong(9), msg("<2>b")]);
        let mut f = Framer::new(4);
        assert!(frames(&mut f, &[b"12x <1>"]).is_err());
    }

    fn split_feed(f: &mut Framer, data: &[u8], cuts: &[usize]) -> Result<Vec<Frame>, FramingError> {
        let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (data.len() + 1)).collect();
        cuts.sort_unstable();
        let mut out = Vec::new();
        let mut prev = 0;
        for c in cuts {
            f.push(&data[prev..c], &mut out)?;
            prev = c;
        }
        f.push(&data[prev..], &mut out)?;
        f.finish(&mut out);
        Ok(out)
    }

    proptest! {
        #[test]
        fn never_panics(data in proptest::collection::vec(any::<u8>(), 0..600), cuts in proptest::collection::vec(0usize..1000, 0..8), max in 1usize..64) {
            let mut f = Framer::new(max);
            let _ = split_feed(&mut f, &data, &cuts);
        }

        #[test]
        fn octet_counting_reassembles(msgs in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 1..80), 1..12), cuts in proptest::collection::vec(0usize..2000, 0..10)) {
            let mut data = Vec::new();
            let mut want = Vec::new();
            for m in &msgs {
                let mut m = m.clone();
                m[0] = b'<';
                data.extend_from_slice(format!("{} ", m.len()).as_bytes());
                data.extend_from_slice(&m);
                let mut w = m.clone();
                if w.last() == Some(&b'\n') { w.pop(); }
                if w.last() == Some(&b'\r') { w.pop(); }
                if !w.is_empty() { want.push(Frame::Message(w)); }
            }
            let mut f = Framer::new(100);
            prop_assert_eq!(split_feed(&mut f, &data, &cuts).unwrap(), want);
        }

        #[test]
        fn newline_reassembles(msgs in proptest::collection::vec("<[0-9]{1,3}>[^\r\n]{0,60}", 1..12), cuts in proptest::collection::vec(0usize..2000, 0..10)) {
            let data = msgs.iter().map(|m| format!("{m}\n")).collect::<String>();
            let want: Vec<Frame> = msgs.iter().map(|m| Frame::Message(m.as_bytes().to_vec())).collect();
            let mut f = Framer::new(1000);
            prop_assert_eq!(split_feed(&mut f, data.as_bytes(), &cuts).unwrap(), want);
        }
    }
}
