//! Feed parsing and owner lookup in memory: 20,000 URLhaus lines and 20,000 Shadowserver
//! telnet lines against 50 members (two ranges and a domain each), the data shaped like
//! `bench/notify_gen.py`'s. The end-to-end comparison with IntelMQ is `bench/notify.sh`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark fails loudly on purpose

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mamori_model::{Org, OrgId, OrgKind};
use mamori_notify::OwnerIndex;
use mamori_notify::feed::{parse_shadowserver, parse_urlhaus};

const LINES: usize = 20_000;

fn members() -> Vec<Org> {
    (0..50u32)
        .map(|i| Org {
            id: OrgId(uuid::Uuid::from_u128(u128::from(i) + 1)),
            slug: format!("member-{i:02}"),
            name_ja: String::new(),
            name_en: format!("member {i}"),
            kind: OrgKind::Ministry,
            sector: None,
            cidrs: vec![
                format!("133.{i}.0.0/16").parse().unwrap(),
                format!("153.{}.7.0/24", 100 + i).parse().unwrap(),
            ],
            domains: vec![format!("member{i:02}.go.jp")],
            contacts: vec![],
            created_at: 0,
        })
        .collect()
}

/// A small deterministic generator (xorshift), so the data is the same on every run.
struct Rng(u64);
impl Rng {
    fn next(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

fn urlhaus() -> Vec<u8> {
    let mut r = Rng(20_261_125);
    let mut s = String::from(
        "# abuse.ch URLhaus Database Dump (CSV)\n\
         # id,dateadded,url,url_status,last_online,threat,tags,urlhaus_link,reporter\n",
    );
    for n in 0..LINES {
        let m = r.next(50);
        let host = match r.next(10) {
            0..=3 => format!("133.{m}.{}.{}", r.next(256), 1 + r.next(254)),
            4..=6 => format!("www.member{m:02}.go.jp"),
            _ => format!("shop{}.example-{}.com", r.next(100_000), r.next(1000)),
        };
        s.push_str(&format!(
            "\"{id}\",\"2026-11-25 01:02:03\",\"http://{host}/bins/{n:06}.sh\",\"online\",\"\",\
             \"malware_download\",\"elf,mirai\",\"https://urlhaus.abuse.ch/url/{id}/\",\"abuse_ch\"\n",
            id = 3_000_000 + n
        ));
    }
    s.into_bytes()
}

fn telnet() -> Vec<u8> {
    let mut r = Rng(7);
    let mut s = String::from(
        "\"timestamp\",\"severity\",\"ip\",\"protocol\",\"port\",\"hostname\",\"tag\",\"asn\",\"geo\",\"region\",\"city\",\"naics\",\"hostname_source\",\"sector\",\"banner\"\n",
    );
    for _ in 0..LINES {
        let m = r.next(50);
        let ip = if r.next(10) < 6 {
            format!("133.{m}.{}.{}", r.next(256), 1 + r.next(254))
        } else {
            format!("198.18.{}.{}", r.next(256), 1 + r.next(254))
        };
        s.push_str(&format!(
            "\"2026-11-25 03:00:00\",\"medium\",\"{ip}\",\"tcp\",\"23\",\"\",\"telnet\",\"{}\",\"JP\",\"TOKYO\",\"TOKYO\",\"0\",\"\",\"\",\"login:\"\n",
            64512 + m
        ));
    }
    s.into_bytes()
}

fn bench(c: &mut Criterion) {
    let orgs = members();
    let index = OwnerIndex::build(orgs.iter());
    let (u, t) = (urlhaus(), telnet());
    let mut g = c.benchmark_group("feed");
    g.throughput(Throughput::Elements(LINES as u64));
    g.bench_function("urlhaus_parse_and_owners", |b| {
        b.iter(|| {
            let r = parse_urlhaus(&u).unwrap();
            r.observations
                .iter()
                .filter(|o| index.owner_of(o).is_some())
                .count()
        })
    });
    g.bench_function("shadowserver_telnet_parse_and_owners", |b| {
        b.iter(|| {
            let r = parse_shadowserver("scan_telnet", &t).unwrap();
            r.observations
                .iter()
                .filter(|o| index.owner_of(o).is_some())
                .count()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
