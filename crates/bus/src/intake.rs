//! The envelope in which a sensor forwards an event batch to the hub over NATS JetStream
//! (subject [`INTAKE_SUBJECT`]).
//!
//! The sensor token never travels and never rests in the stream. Instead the envelope names a
//! *key id* derived from the token's stored hash and carries an HMAC-SHA256 of the batch keyed
//! with that hash (the hub stores `sha256(token)` for every sensor, so it can verify; a reader of
//! the stream learns neither the token nor the hash). The MAC covers the batch id, the encoding,
//! the format and the body, so a captured envelope can only be replayed as itself, which the
//! hub stores once (batches are de-duplicated by sensor and batch id).
//!
//! Wire form: one ASCII header line, then the body as sent over HTTP (zstd NDJSON):
//!
//! ```text
//! MAMORI-INTAKE/1 key=<32 hex> batch=<id> encoding=zstd format=json mac=<64 hex>\n<body>
//! ```

use ring::{digest, hmac};

/// The JetStream subject (and, upper-cased, the stream) sensors publish batches to.
pub const INTAKE_SUBJECT: &str = "mamori.intake";
/// The queue group of the hub processes that consume it.
pub const INTAKE_GROUP: &str = "hub-intake";

const MAGIC: &str = "MAMORI-INTAKE/1";
/// Longest header line accepted.
const MAX_HEADER: usize = 512;

/// Why an envelope was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IntakeError {
    #[error("intake envelope: no header line (expected {MAGIC} … followed by a newline)")]
    NoHeader,
    #[error("intake envelope: the header does not start with {MAGIC}")]
    BadMagic,
    #[error("intake envelope: header field {field}: {reason}")]
    Field {
        field: &'static str,
        reason: &'static str,
    },
    #[error("intake envelope: the MAC does not match (wrong token or altered batch)")]
    BadMac,
}

/// The key a sensor signs with: derived from its token, known to the hub as the token's hash.
#[derive(Clone)]
pub struct IntakeKey {
    id: String,
    key: hmac::Key,
}

impl std::fmt::Debug for IntakeKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IntakeKey").field("id", &self.id).finish()
    }
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    s
}

impl IntakeKey {
    /// The key of a sensor token, as the sensor computes it.
    pub fn from_token(token: &str) -> IntakeKey {
        IntakeKey::from_token_hash(&hex(
            digest::digest(&digest::SHA256, token.as_bytes()).as_ref()
        ))
    }

    /// The key from the token's stored hash (lower-case hex of SHA-256), as the hub computes it.
    pub fn from_token_hash(token_hash: &str) -> IntakeKey {
        let mut ctx = digest::Context::new(&digest::SHA256);
        ctx.update(b"mamori-intake-key-id\n");
        ctx.update(token_hash.as_bytes());
        let id = hex(&ctx.finish().as_ref()[..16]);
        IntakeKey {
            id,
            key: hmac::Key::new(hmac::HMAC_SHA256, token_hash.as_bytes()),
        }
    }

    /// The public key id named in envelopes.
    pub fn id(&self) -> &str {
        &self.id
    }

    fn mac(&self, h: &Header<'_>, body: &[u8]) -> hmac::Tag {
        let mut ctx = hmac::Context::with_key(&self.key);
        Self::feed(&mut ctx, h, body);
        ctx.sign()
    }

    fn feed(ctx: &mut hmac::Context, h: &Header<'_>, body: &[u8]) {
        for part in [MAGIC, h.batch, h.encoding, h.format] {
            ctx.update(part.as_bytes());
            ctx.update(b"\n");
        }
        ctx.update(body);
    }

    /// Wraps a batch for [`INTAKE_SUBJECT`].
    pub fn seal(
        &self,
        batch: &str,
        encoding: &str,
        format: &str,
        body: &[u8],
    ) -> Result<Vec<u8>, IntakeError> {
        let h = Header {
            key: &self.id,
            batch,
            encoding,
            format,
            mac: "",
        };
        h.check()?;
        let mac = hex(self.mac(&h, body).as_ref());
        let mut out = format!(
            "{MAGIC} key={} batch={batch} encoding={encoding} format={format} mac={mac}\n",
            self.id
        )
        .into_bytes();
        out.extend_from_slice(body);
        Ok(out)
    }

    /// Checks the MAC of an opened envelope with this key (in constant time).
    pub fn verify(&self, env: &Envelope<'_>) -> Result<(), IntakeError> {
        let tag = unhex(env.header.mac).ok_or(IntakeError::Field {
            field: "mac",
            reason: "must be 64 hex digits",
        })?;
        let ours = self.mac(&env.header, env.body);
        let diff = ours
            .as_ref()
            .iter()
            .zip(&tag)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b));
        if diff == 0 && ours.as_ref().len() == tag.len() {
            Ok(())
        } else {
            Err(IntakeError::BadMac)
        }
    }
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if s.len() != 64 {
        return None;
    }
    let nib = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    s.as_bytes()
        .chunks(2)
        .map(|p| Some(nib(p[0])? << 4 | nib(p[1])?))
        .collect()
}

/// The header fields of an envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header<'a> {
    pub key: &'a str,
    pub batch: &'a str,
    pub encoding: &'a str,
    pub format: &'a str,
    pub mac: &'a str,
}

impl Header<'_> {
    fn check(&self) -> Result<(), IntakeError> {
        let token = |field, v: &str, max| {
            if v.is_empty() || v.len() > max || !v.bytes().all(|b| b.is_ascii_graphic()) {
                Err(IntakeError::Field {
                    field,
                    reason: "must be 1 to the allowed length of printable ASCII without spaces",
                })
            } else {
                Ok(())
            }
        };
        token("batch", self.batch, 128)?;
        token("encoding", self.encoding, 16)?;
        token("format", self.format, 32)
    }
}

/// An envelope read from the stream, not yet verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope<'a> {
    pub header: Header<'a>,
    pub body: &'a [u8],
}

impl<'a> Envelope<'a> {
    /// Splits the header line from the body and reads its fields.
    pub fn open(bytes: &'a [u8]) -> Result<Envelope<'a>, IntakeError> {
        let scan = &bytes[..bytes.len().min(MAX_HEADER)];
        let nl = memchr_nl(scan).ok_or(IntakeError::NoHeader)?;
        let line = std::str::from_utf8(&bytes[..nl]).map_err(|_| IntakeError::BadMagic)?;
        let mut parts = line.split(' ');
        if parts.next() != Some(MAGIC) {
            return Err(IntakeError::BadMagic);
        }
        let (mut key, mut batch, mut encoding, mut format, mut mac) =
            (None, None, None, None, None);
        for p in parts {
            let (k, v) = p.split_once('=').ok_or(IntakeError::Field {
                field: "header",
                reason: "fields are key=value separated by single spaces",
            })?;
            let slot = match k {
                "key" => &mut key,
                "batch" => &mut batch,
                "encoding" => &mut encoding,
                "format" => &mut format,
                "mac" => &mut mac,
                _ => continue,
            };
            *slot = Some(v);
        }
        let need = |field, v: Option<&'a str>| {
            v.ok_or(IntakeError::Field {
                field,
                reason: "missing",
            })
        };
        let header = Header {
            key: need("key", key)?,
            batch: need("batch", batch)?,
            encoding: need("encoding", encoding)?,
            format: need("format", format)?,
            mac: need("mac", mac)?,
        };
        header.check()?;
        Ok(Envelope {
            header,
            body: &bytes[nl + 1..],
        })
    }
}

fn memchr_nl(b: &[u8]) -> Option<usize> {
    b.iter().position(|c| *c == b'\n')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_envelopes_open_and_verify_with_the_hash_side_key() {
        let sensor = IntakeKey::from_token("mms_secret");
        let hub = IntakeKey::from_token_hash(&hex(
            digest::digest(&digest::SHA256, b"mms_secret").as_ref()
        ));
        assert_eq!(sensor.id(), hub.id());
        let wire = sensor.seal("s1-0001", "zstd", "json", b"body\n").unwrap();
        let env = Envelope::open(&wire).unwrap();
        assert_eq!(env.header.batch, "s1-0001");
        assert_eq!(env.body, b"body\n");
        hub.verify(&env).unwrap();
        assert!(!String::from_utf8_lossy(&wire).contains("mms_secret"));
    }

    #[test]
    fn altered_batches_and_other_keys_are_refused() {
        let k = IntakeKey::from_token("mms_a");
        let wire = k.seal("b1", "zstd", "json", b"xyz").unwrap();
        let mut altered = wire.clone();
        let last = altered.len() - 1;
        altered[last] = b'Z';
        assert_eq!(
            k.verify(&Envelope::open(&altered).unwrap()),
            Err(IntakeError::BadMac)
        );
        let renamed = String::from_utf8(wire.clone())
            .unwrap()
            .replace("batch=b1", "batch=b2");
        assert_eq!(
            k.verify(&Envelope::open(renamed.as_bytes()).unwrap()),
            Err(IntakeError::BadMac)
        );
        let other = IntakeKey::from_token("mms_b");
        assert_ne!(other.id(), k.id());
        assert_eq!(
            other.verify(&Envelope::open(&wire).unwrap()),
            Err(IntakeError::BadMac)
        );
    }

    #[test]
    fn malformed_headers_get_named_errors() {
        assert_eq!(Envelope::open(b"no newline"), Err(IntakeError::NoHeader));
        assert_eq!(Envelope::open(b"HELLO\nx"), Err(IntakeError::BadMagic));
        let e = Envelope::open(b"MAMORI-INTAKE/1 key=a batch=b encoding=zstd format=json\n")
            .unwrap_err();
        assert_eq!(
            e,
            IntakeError::Field {
                field: "mac",
                reason: "missing"
            }
        );
        assert!(
            IntakeKey::from_token("t")
                .seal("has space", "zstd", "json", b"")
                .is_err()
        );
    }

    proptest::proptest! {
        #[test]
        fn open_never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..700)) {
            let _ = Envelope::open(&bytes).map(|e| IntakeKey::from_token("t").verify(&e));
        }
    }
}
