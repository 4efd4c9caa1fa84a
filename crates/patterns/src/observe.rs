//! A normalised event as STIX cyber observables, for the pattern indicators
//! ([`crate::set`]). [`Observables::extract`] picks the mapped fields out of the
//! [`EventView`] (cheap: one lookup per mapped field name, no allocation for most values);
//! [`Observables::observation`] builds the one STIX [`Observation`] of the event, only when
//! some pattern is a candidate. The mapping is documented in `docs/schema.md` ("Event fields as
//! STIX observables").
//!
//! Every string placed in the observation is one of [`Observables::keys`] (lower-cased), which
//! is what makes the literal index of [`crate::set`] exact: a pattern whose `=` or `IN`
//! test holds has its literal among the keys. Hash values and domain names are lower-cased in
//! the observation, as the hub normalises them everywhere (pattern literals on those paths are
//! lower-cased when compiled).

use std::borrow::Cow;

use mamori_detect::event::{EventView, FieldValue};
use mamori_stix::Timestamp;
use mamori_stix::pattern::Observation;
use serde_json::{Map, Value, json};

/// The object types a mapped event can carry, as bits of [`Observables::mask`].
pub const OBJECT_TYPES: &[&str] = &[
    "ipv4-addr",
    "ipv6-addr",
    "network-traffic",
    "domain-name",
    "url",
    "file",
    "directory",
    "process",
    "user-account",
    "email-addr",
    "email-message",
    "windows-registry-key",
    "mac-addr",
    "x509-certificate",
];

/// The bit of an object type in [`Observables::mask`]; `None` for types never mapped.
pub fn type_bit(object_type: &str) -> Option<u32> {
    OBJECT_TYPES
        .iter()
        .position(|t| *t == object_type)
        .map(|i| 1 << i)
}

fn bit(object_type: &str) -> u32 {
    type_bit(object_type).unwrap_or(0)
}

/// Where a mapped value goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    SrcIp,
    DstIp,
    SrcPort,
    DstPort,
    Transport,
    Protocol,
    Domain,
    Url,
    FileName,
    FileDir,
    FileMd5,
    FileSha1,
    FileSha256,
    /// Sysmon `Hashes` (`MD5=…,SHA256=…`): split into the process image's hashes.
    SysmonHashes,
    ProcName,
    ProcExe,
    /// The base name of the process executable (derived).
    ProcImage,
    ProcCmd,
    ProcPid,
    ProcMd5,
    ProcSha1,
    ProcSha256,
    User,
    EmailFrom,
    EmailTo,
    EmailSubject,
    RegKey,
    Mac,
    CertMd5,
    CertSha1,
    CertSha256,
    CertSerial,
    CertIssuer,
    CertSubject,
}

/// Event field (lower case) → slot. ECS names first, then the Windows/Sysmon names the sensor
/// sends.
const FIELDS: &[(&str, Slot)] = &[
    ("source.ip", Slot::SrcIp),
    ("client.ip", Slot::SrcIp),
    ("sourceip", Slot::SrcIp),
    ("destination.ip", Slot::DstIp),
    ("server.ip", Slot::DstIp),
    ("destinationip", Slot::DstIp),
    ("source.port", Slot::SrcPort),
    ("client.port", Slot::SrcPort),
    ("sourceport", Slot::SrcPort),
    ("destination.port", Slot::DstPort),
    ("server.port", Slot::DstPort),
    ("destinationport", Slot::DstPort),
    ("network.transport", Slot::Transport),
    ("network.protocol", Slot::Protocol),
    ("dns.question.name", Slot::Domain),
    ("url.domain", Slot::Domain),
    ("destination.domain", Slot::Domain),
    ("server.domain", Slot::Domain),
    ("tls.client.server_name", Slot::Domain),
    ("queryname", Slot::Domain),
    ("destinationhostname", Slot::Domain),
    ("url.full", Slot::Url),
    ("url.original", Slot::Url),
    ("file.name", Slot::FileName),
    ("file.directory", Slot::FileDir),
    ("file.hash.md5", Slot::FileMd5),
    ("file.hash.sha1", Slot::FileSha1),
    ("file.hash.sha256", Slot::FileSha256),
    ("hashes", Slot::SysmonHashes),
    ("process.name", Slot::ProcName),
    ("process.executable", Slot::ProcExe),
    ("image", Slot::ProcExe),
    ("process.command_line", Slot::ProcCmd),
    ("commandline", Slot::ProcCmd),
    ("process.pid", Slot::ProcPid),
    ("processid", Slot::ProcPid),
    ("process.hash.md5", Slot::ProcMd5),
    ("process.hash.sha1", Slot::ProcSha1),
    ("process.hash.sha256", Slot::ProcSha256),
    ("user.name", Slot::User),
    ("email.from.address", Slot::EmailFrom),
    ("email.sender.address", Slot::EmailFrom),
    ("email.to.address", Slot::EmailTo),
    ("email.cc.address", Slot::EmailTo),
    ("email.subject", Slot::EmailSubject),
    ("registry.path", Slot::RegKey),
    ("registry.key", Slot::RegKey),
    ("targetobject", Slot::RegKey),
    ("source.mac", Slot::Mac),
    ("destination.mac", Slot::Mac),
    ("tls.server.hash.md5", Slot::CertMd5),
    ("tls.server.hash.sha1", Slot::CertSha1),
    ("tls.server.hash.sha256", Slot::CertSha256),
    ("tls.server.x509.serial_number", Slot::CertSerial),
    (
        "tls.server.x509.issuer.distinguished_name",
        Slot::CertIssuer,
    ),
    (
        "tls.server.x509.subject.distinguished_name",
        Slot::CertSubject,
    ),
];

/// Longest value mapped; longer ones (pasted documents, binary blobs) are left out.
const MAX_VALUE: usize = 8192;

/// A mapped value: borrowed from the event, or derived from it.
#[derive(Debug, Clone)]
enum Val<'a> {
    Field(&'a FieldValue),
    Text(String),
}

impl Val<'_> {
    fn raw(&self) -> &str {
        match self {
            Val::Field(f) => &f.raw,
            Val::Text(t) => t,
        }
    }
    fn lower(&self) -> Cow<'_, str> {
        match self {
            Val::Field(f) => Cow::Borrowed(f.lower()),
            Val::Text(t) => lower(t),
        }
    }
}

fn lower(s: &str) -> Cow<'_, str> {
    if s.bytes().any(|b| b.is_ascii_uppercase()) || !s.is_ascii() {
        Cow::Owned(s.to_lowercase())
    } else {
        Cow::Borrowed(s)
    }
}

/// The mapped values of one event.
#[derive(Debug, Default)]
pub struct Observables<'a> {
    items: Vec<(Slot, Val<'a>)>,
    mask: u32,
}

impl<'a> Observables<'a> {
    /// Picks the mapped fields out of an event.
    pub fn extract(view: &'a EventView) -> Observables<'a> {
        let mut o = Observables::default();
        for &(name, slot) in FIELDS {
            let Some(values) = view.get_lower(name) else {
                continue;
            };
            for v in values {
                if v.raw.is_empty() || v.raw.len() > MAX_VALUE {
                    continue;
                }
                match slot {
                    Slot::SysmonHashes => o.sysmon_hashes(&v.raw),
                    Slot::ProcExe => {
                        o.push(slot, Val::Field(v));
                        let base = v.raw.rsplit(['\\', '/']).next().unwrap_or("");
                        if !base.is_empty() && base.len() != v.raw.len() {
                            o.push(Slot::ProcImage, Val::Text(base.to_owned()));
                        }
                    }
                    _ => o.push(slot, Val::Field(v)),
                }
            }
        }
        o.mask = o.compute_mask();
        o
    }

    fn push(&mut self, slot: Slot, v: Val<'a>) {
        // The same value under two names (an alias) is one value.
        if self
            .items
            .iter()
            .any(|(s, x)| *s == slot && x.raw() == v.raw())
        {
            return;
        }
        self.items.push((slot, v));
    }

    fn sysmon_hashes(&mut self, raw: &str) {
        for part in raw.split([',', ';', ' ']) {
            let Some((algo, h)) = part.split_once('=') else {
                continue;
            };
            let slot = match algo.trim().to_ascii_uppercase().as_str() {
                "MD5" => Slot::ProcMd5,
                "SHA1" | "SHA-1" => Slot::ProcSha1,
                "SHA256" | "SHA-256" => Slot::ProcSha256,
                _ => continue,
            };
            let h = h.trim();
            if !h.is_empty() {
                self.push(slot, Val::Text(h.to_ascii_lowercase()));
            }
        }
    }

    fn has(&self, slots: &[Slot]) -> bool {
        self.items.iter().any(|(s, _)| slots.contains(s))
    }

    fn compute_mask(&self) -> u32 {
        let mut m = 0;
        for (s, v) in &self.items {
            m |= match s {
                Slot::SrcIp | Slot::DstIp => bit(ip_type(v.raw())) | bit("network-traffic"),
                Slot::Domain => bit("domain-name"),
                Slot::Url => bit("url"),
                Slot::FileName | Slot::FileMd5 | Slot::FileSha1 | Slot::FileSha256 => bit("file"),
                Slot::FileDir => bit("file") | bit("directory"),
                Slot::ProcName
                | Slot::ProcExe
                | Slot::ProcImage
                | Slot::ProcMd5
                | Slot::ProcSha1
                | Slot::ProcSha256 => bit("process") | bit("file"),
                Slot::ProcCmd | Slot::ProcPid => bit("process"),
                Slot::User => bit("user-account"),
                Slot::EmailFrom | Slot::EmailTo => bit("email-addr") | bit("email-message"),
                Slot::EmailSubject => bit("email-message"),
                Slot::RegKey => bit("windows-registry-key"),
                Slot::Mac => bit("mac-addr"),
                Slot::CertMd5
                | Slot::CertSha1
                | Slot::CertSha256
                | Slot::CertSerial
                | Slot::CertIssuer
                | Slot::CertSubject => bit("x509-certificate"),
                // Ports and protocols alone make no object.
                Slot::SrcPort | Slot::DstPort | Slot::Transport | Slot::Protocol => 0,
                Slot::SysmonHashes => 0,
            };
        }
        m
    }

    /// True when the event maps to no object.
    pub fn is_empty(&self) -> bool {
        self.mask == 0
    }

    /// The object types the observation will hold ([`type_bit`]).
    pub fn mask(&self) -> u32 {
        self.mask
    }

    /// Every mapped value, lower-cased: the literal index's lookup keys.
    pub fn keys(&self) -> impl Iterator<Item = Cow<'_, str>> {
        self.items.iter().map(|(_, v)| v.lower())
    }

    fn values(&self, slot: Slot) -> impl Iterator<Item = &str> {
        self.items
            .iter()
            .filter(move |(s, _)| *s == slot)
            .map(|(_, v)| v.raw())
    }

    fn first(&self, slot: Slot) -> Option<&str> {
        self.values(slot).next()
    }

    fn first_lower(&self, slot: Slot) -> Option<String> {
        self.items
            .iter()
            .find(|(s, _)| *s == slot)
            .map(|(_, v)| v.lower().into_owned())
    }

    /// The event as one STIX observation at `ts_ms` (objects keyed `"0"`, `"1"`, …; `*_ref`
    /// properties name those keys).
    pub fn observation(&self, ts_ms: i64) -> Observation {
        let mut objects = Map::new();
        let add = add_object;
        // Addresses and the connection between them.
        let mut ip_keys: Vec<(String, String)> = Vec::new();
        let mut ip_ref = |objects: &mut Map<String, Value>, ip: &str| -> String {
            if let Some((_, k)) = ip_keys.iter().find(|(v, _)| v == ip) {
                return k.clone();
            }
            let k = add(objects, json!({"type": ip_type(ip), "value": ip}));
            ip_keys.push((ip.to_owned(), k.clone()));
            k
        };
        let srcs: Vec<&str> = self.values(Slot::SrcIp).collect();
        let dsts: Vec<&str> = self.values(Slot::DstIp).collect();
        let src_ref = srcs.first().map(|ip| ip_ref(&mut objects, ip));
        let dst_ref = dsts.first().map(|ip| ip_ref(&mut objects, ip));
        for ip in srcs.iter().chain(&dsts) {
            ip_ref(&mut objects, ip);
        }
        if src_ref.is_some() || dst_ref.is_some() {
            let mut nt = Map::new();
            nt.insert("type".into(), "network-traffic".into());
            if let Some(r) = src_ref {
                nt.insert("src_ref".into(), r.into());
            }
            if let Some(r) = dst_ref {
                nt.insert("dst_ref".into(), r.into());
            }
            for (slot, name) in [(Slot::SrcPort, "src_port"), (Slot::DstPort, "dst_port")] {
                if let Some(p) = self.first(slot).and_then(|p| p.trim().parse::<i64>().ok()) {
                    nt.insert(name.into(), p.into());
                }
            }
            let protocols: Vec<Value> = [Slot::Transport, Slot::Protocol]
                .into_iter()
                .filter_map(|s| self.first_lower(s))
                .map(Value::String)
                .collect();
            if !protocols.is_empty() {
                nt.insert("protocols".into(), Value::Array(protocols));
            }
            add(&mut objects, Value::Object(nt));
        }
        for (slot, ty) in [
            (Slot::Domain, "domain-name"),
            (Slot::Url, "url"),
            (Slot::Mac, "mac-addr"),
        ] {
            let mut seen: Vec<String> = Vec::new();
            for v in self.items.iter().filter(|(s, _)| *s == slot) {
                // Domain names compare in lower case; URLs and MACs as written.
                let value = if slot == Slot::Domain {
                    v.1.lower().into_owned()
                } else {
                    v.1.raw().to_owned()
                };
                if !seen.contains(&value) {
                    add(&mut objects, json!({"type": ty, "value": value}));
                    seen.push(value);
                }
            }
        }
        // The file the event is about.
        if self.has(&[
            Slot::FileName,
            Slot::FileDir,
            Slot::FileMd5,
            Slot::FileSha1,
            Slot::FileSha256,
        ]) {
            let mut f = Map::new();
            f.insert("type".into(), "file".into());
            if let Some(n) = self.first(Slot::FileName) {
                f.insert("name".into(), n.into());
            }
            let hashes = self.hashes([Slot::FileMd5, Slot::FileSha1, Slot::FileSha256]);
            if !hashes.is_empty() {
                f.insert("hashes".into(), Value::Object(hashes));
            }
            if let Some(d) = self.first(Slot::FileDir) {
                let k = add(&mut objects, json!({"type": "directory", "path": d}));
                f.insert("parent_directory_ref".into(), k.into());
            }
            add(&mut objects, Value::Object(f));
        }
        // The process and its image file.
        if self.has(&[
            Slot::ProcName,
            Slot::ProcExe,
            Slot::ProcCmd,
            Slot::ProcPid,
            Slot::ProcMd5,
            Slot::ProcSha1,
            Slot::ProcSha256,
        ]) {
            let mut p = Map::new();
            p.insert("type".into(), "process".into());
            if let Some(n) = self.first(Slot::ProcName) {
                p.insert("name".into(), n.into());
            }
            if let Some(c) = self.first(Slot::ProcCmd) {
                p.insert("command_line".into(), c.into());
            }
            if let Some(pid) = self
                .first(Slot::ProcPid)
                .and_then(|p| p.trim().parse::<i64>().ok())
            {
                p.insert("pid".into(), pid.into());
            }
            let image_name = self
                .first(Slot::ProcImage)
                .or_else(|| self.first(Slot::ProcName));
            let hashes = self.hashes([Slot::ProcMd5, Slot::ProcSha1, Slot::ProcSha256]);
            if image_name.is_some() || !hashes.is_empty() {
                let mut f = Map::new();
                f.insert("type".into(), "file".into());
                if let Some(n) = image_name {
                    f.insert("name".into(), n.into());
                }
                if !hashes.is_empty() {
                    f.insert("hashes".into(), Value::Object(hashes));
                }
                let k = add(&mut objects, Value::Object(f));
                p.insert("image_ref".into(), k.into());
            }
            add(&mut objects, Value::Object(p));
        }
        for u in self.values(Slot::User) {
            add(
                &mut objects,
                json!({"type": "user-account", "user_id": u, "account_login": u}),
            );
        }
        // Mail: the addresses and the message that links them.
        let mut from_ref = None;
        let mut to_refs = Vec::new();
        let mut seen: Vec<String> = Vec::new();
        for (slot, v) in self
            .items
            .iter()
            .filter(|(s, _)| matches!(s, Slot::EmailFrom | Slot::EmailTo))
        {
            let a = v.lower().into_owned();
            if seen.contains(&a) {
                continue;
            }
            let k = add(&mut objects, json!({"type": "email-addr", "value": a}));
            seen.push(a);
            if *slot == Slot::EmailFrom && from_ref.is_none() {
                from_ref = Some(k);
            } else if *slot == Slot::EmailTo {
                to_refs.push(Value::String(k));
            }
        }
        let subject = self.first(Slot::EmailSubject);
        if from_ref.is_some() || !to_refs.is_empty() || subject.is_some() {
            let mut m = Map::new();
            m.insert("type".into(), "email-message".into());
            m.insert("is_multipart".into(), false.into());
            if let Some(r) = from_ref {
                m.insert("from_ref".into(), r.into());
            }
            if !to_refs.is_empty() {
                m.insert("to_refs".into(), Value::Array(to_refs));
            }
            if let Some(s) = subject {
                m.insert("subject".into(), s.into());
            }
            add(&mut objects, Value::Object(m));
        }
        for k in self.values(Slot::RegKey) {
            add(
                &mut objects,
                json!({"type": "windows-registry-key", "key": k}),
            );
        }
        if self.has(&[
            Slot::CertMd5,
            Slot::CertSha1,
            Slot::CertSha256,
            Slot::CertSerial,
            Slot::CertIssuer,
            Slot::CertSubject,
        ]) {
            let mut c = Map::new();
            c.insert("type".into(), "x509-certificate".into());
            let hashes = self.hashes([Slot::CertMd5, Slot::CertSha1, Slot::CertSha256]);
            if !hashes.is_empty() {
                c.insert("hashes".into(), Value::Object(hashes));
            }
            for (slot, name) in [
                (Slot::CertSerial, "serial_number"),
                (Slot::CertIssuer, "issuer"),
                (Slot::CertSubject, "subject"),
            ] {
                if let Some(v) = self.first(slot) {
                    c.insert(name.into(), v.into());
                }
            }
            add(&mut objects, Value::Object(c));
        }
        let t = Timestamp::from_unix_millis(ts_ms);
        Observation {
            first_observed: t.clone(),
            last_observed: t,
            number_observed: 1,
            objects,
        }
    }

    /// `{"MD5": …, "SHA-1": …, "SHA-256": …}` from the first value of each slot, lower-cased.
    fn hashes(&self, [md5, sha1, sha256]: [Slot; 3]) -> Map<String, Value> {
        let mut h = Map::new();
        for (slot, name) in [(md5, "MD5"), (sha1, "SHA-1"), (sha256, "SHA-256")] {
            if let Some(v) = self.first_lower(slot) {
                h.insert(name.into(), v.into());
            }
        }
        h
    }
}

/// Adds an object under the next free key and returns the key.
fn add_object(objects: &mut Map<String, Value>, v: Value) -> String {
    let key = objects.len().to_string();
    objects.insert(key.clone(), v);
    key
}

/// `ipv6-addr` for values with a colon, else `ipv4-addr`.
fn ip_type(ip: &str) -> &'static str {
    if ip.contains(':') {
        "ipv6-addr"
    } else {
        "ipv4-addr"
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use mamori_detect::event::ValueKind;

    fn view(fields: &[(&str, &str)]) -> EventView {
        let mut v = EventView::new();
        for (k, x) in fields {
            v.push_str(k, x);
        }
        v
    }

    fn objects_of(o: &Observation, ty: &str) -> Vec<Value> {
        o.objects
            .values()
            .filter(|x| x["type"] == ty)
            .cloned()
            .collect()
    }

    #[test]
    fn network_event_maps_to_addresses_and_traffic() {
        let mut v = view(&[
            ("source.ip", "192.0.2.4"),
            ("destination.ip", "2001:db8::1"),
            ("network.transport", "TCP"),
        ]);
        v.push("destination.port", FieldValue::new("443", ValueKind::Num));
        let obs = Observables::extract(&v);
        assert_ne!(obs.mask() & type_bit("network-traffic").unwrap(), 0);
        let o = obs.observation(1_700_000_000_000);
        assert_eq!(objects_of(&o, "ipv4-addr")[0]["value"], "192.0.2.4");
        assert_eq!(objects_of(&o, "ipv6-addr")[0]["value"], "2001:db8::1");
        let nt = &objects_of(&o, "network-traffic")[0];
        assert_eq!(nt["dst_port"], 443);
        assert_eq!(nt["protocols"], json!(["tcp"]));
        assert_eq!(
            o.objects[nt["dst_ref"].as_str().unwrap()]["value"],
            "2001:db8::1"
        );
        assert_eq!(o.first_observed.unix_millis(), 1_700_000_000_000);
    }

    #[test]
    fn files_processes_and_the_rest() {
        let v = view(&[
            ("file.name", "a.exe"),
            ("file.directory", "C:\\Temp"),
            ("file.hash.sha256", "AB12"),
            ("process.executable", "C:\\Windows\\cmd.exe"),
            ("process.command_line", "cmd /c x"),
            ("process.pid", "42"),
            ("Hashes", "MD5=44D8,SHA256=FFEE,IMPHASH=00"),
            ("dns.question.name", "Evil.Example"),
            ("url.full", "http://x.example/evil/a"),
            ("user.name", "alice"),
            ("email.from.address", "a@x.example"),
            ("email.to.address", "b@y.example"),
            ("email.subject", "hi"),
            ("registry.path", "HKLM\\Software\\Run"),
            ("tls.server.hash.sha1", "CC"),
        ]);
        let obs = Observables::extract(&v);
        let keys: Vec<String> = obs.keys().map(|k| k.into_owned()).collect();
        for k in ["ab12", "44d8", "ffee", "cmd.exe", "evil.example", "alice"] {
            assert!(keys.iter().any(|x| x == k), "{k} in {keys:?}");
        }
        let o = obs.observation(0);
        let files = objects_of(&o, "file");
        assert_eq!(files.len(), 2);
        assert!(files.iter().any(|f| f["hashes"]["SHA-256"] == "ab12"));
        assert!(
            files
                .iter()
                .any(|f| f["hashes"]["MD5"] == "44d8" && f["name"] == "cmd.exe")
        );
        let p = &objects_of(&o, "process")[0];
        assert_eq!(
            (p["pid"].clone(), p["command_line"].clone()),
            (json!(42), json!("cmd /c x"))
        );
        assert_eq!(objects_of(&o, "domain-name")[0]["value"], "evil.example");
        assert_eq!(objects_of(&o, "user-account")[0]["user_id"], "alice");
        let m = &objects_of(&o, "email-message")[0];
        assert_eq!(
            o.objects[m["from_ref"].as_str().unwrap()]["value"],
            "a@x.example"
        );
        assert_eq!(
            objects_of(&o, "windows-registry-key")[0]["key"],
            "HKLM\\Software\\Run"
        );
        assert_eq!(
            objects_of(&o, "x509-certificate")[0]["hashes"]["SHA-1"],
            "cc"
        );
        // Every string in the observation is a lookup key.
        fn strings(v: &Value, out: &mut Vec<String>) {
            match v {
                Value::String(s) => out.push(s.to_lowercase()),
                Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
                Value::Object(m) => m
                    .iter()
                    .filter(|(k, _)| *k != "type" && !k.ends_with("_ref") && !k.ends_with("_refs"))
                    .for_each(|(_, x)| strings(x, out)),
                _ => {}
            }
        }
        let mut all = Vec::new();
        o.objects.values().for_each(|x| strings(x, &mut all));
        for s in all {
            assert!(keys.contains(&s), "{s} not a key");
        }
    }

    #[test]
    fn unmapped_event_is_empty() {
        let v = view(&[("message", "hello"), ("host.name", "h")]);
        assert!(Observables::extract(&v).is_empty());
    }
}
