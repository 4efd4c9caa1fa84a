//! First run and demo data. On an empty database the hub creates its operator organisation and
//! an `admin` account with a one-time password; `--demo` adds a realistic set of member
//! organisations (ministries, an agency, a municipality, a university, a power company, an ISP,
//! a CSIRT and a vendor), users and sharing groups. Address ranges are documentation ranges
//! (RFC 5737 / RFC 3849) and contact addresses are under `example.jp`, so that nothing a demo
//! produces can reach a real party.

use mamori_model::{Contact, Lang, OrgKind, Role, Tlp, ValueKind};
use mamori_store::Store;
use mamori_store::groups::NewGroup;
use mamori_store::orgs::NewOrg;
use mamori_store::users::NewUser;

use crate::ops::{self, Actor};
use crate::{ApiError, password};

/// The slug of the hub operator's own organisation.
pub const HUB_ORG: &str = "hub";

/// Credentials created on first run, to be shown once.
#[derive(Debug, Clone)]
pub struct FirstRun {
    pub username: String,
    pub password: String,
}

/// Creates the operator organisation and the first administrator when no user exists yet.
pub async fn ensure_admin(store: &Store) -> Result<Option<FirstRun>, ApiError> {
    if store.count_users().await? > 0 {
        return Ok(None);
    }
    let actor = Actor::system();
    let hub = match store.get_org_by_slug(HUB_ORG).await {
        Ok(o) => o,
        Err(_) => {
            ops::create_org(
                store,
                &actor,
                &NewOrg {
                    slug: HUB_ORG.into(),
                    name_ja: "ハブ運用チーム".into(),
                    name_en: "Hub operations".into(),
                    kind: OrgKind::Csirt,
                    sector: Some("government".into()),
                    cidrs: vec![],
                    domains: vec![],
                    contacts: vec![],
                },
            )
            .await?
        }
    };
    let pass = password::generate()?;
    ops::create_user(
        store,
        &actor,
        &NewUser {
            org_id: hub.id,
            username: "admin".into(),
            display_name: "Administrator".into(),
            email: String::new(),
            role: Role::Admin,
            lang: Lang::Ja,
        },
        Some(&pass),
    )
    .await?;
    Ok(Some(FirstRun {
        username: "admin".into(),
        password: pass,
    }))
}

/// What the demo loader created.
#[derive(Debug, Clone, Default)]
pub struct DemoReport {
    pub orgs: usize,
    pub users: usize,
    pub groups: usize,
    pub reports: usize,
    /// The password of every demo user, shown once; `None` when the demo was already loaded.
    pub user_password: Option<String>,
}

struct DemoOrg {
    slug: &'static str,
    ja: &'static str,
    en: &'static str,
    kind: OrgKind,
    sector: &'static str,
    cidr: &'static str,
    domain: &'static str,
    users: &'static [(&'static str, Role, Lang)],
}

const DEMO_ORGS: &[DemoOrg] = &[
    DemoOrg {
        slug: "nisc",
        ja: "内閣サイバーセキュリティセンター",
        en: "National center of Incident readiness and Strategy for Cybersecurity",
        kind: OrgKind::Agency,
        sector: "government",
        cidr: "192.0.2.0/27",
        domain: "nisc.example.jp",
        users: &[
            ("nisc.analyst", Role::Analyst, Lang::Ja),
            ("nisc.auditor", Role::Auditor, Lang::Ja),
        ],
    },
    DemoOrg {
        slug: "mic",
        ja: "総務省",
        en: "Ministry of Internal Affairs and Communications",
        kind: OrgKind::Ministry,
        sector: "government",
        cidr: "192.0.2.32/27",
        domain: "soumu.example.jp",
        users: &[
            ("mic.analyst", Role::Analyst, Lang::Ja),
            ("mic.member", Role::Member, Lang::Ja),
        ],
    },
    DemoOrg {
        slug: "npa",
        ja: "警察庁",
        en: "National Police Agency",
        kind: OrgKind::Agency,
        sector: "government",
        cidr: "192.0.2.64/27",
        domain: "npa.example.jp",
        users: &[("npa.analyst", Role::Analyst, Lang::Ja)],
    },
    DemoOrg {
        slug: "meti",
        ja: "経済産業省",
        en: "Ministry of Economy, Trade and Industry",
        kind: OrgKind::Ministry,
        sector: "government",
        cidr: "192.0.2.96/27",
        domain: "meti.example.jp",
        users: &[("meti.member", Role::Member, Lang::En)],
    },
    DemoOrg {
        slug: "city-sendai",
        ja: "仙台市",
        en: "City of Sendai",
        kind: OrgKind::Municipality,
        sector: "local-government",
        cidr: "198.51.100.0/26",
        domain: "city-sendai.example.jp",
        users: &[("sendai.member", Role::Member, Lang::Ja)],
    },
    DemoOrg {
        slug: "tohoku-u",
        ja: "東北大学",
        en: "Tohoku University",
        kind: OrgKind::University,
        sector: "education",
        cidr: "198.51.100.64/26",
        domain: "tohoku-u.example.jp",
        users: &[("tohoku.analyst", Role::Analyst, Lang::En)],
    },
    DemoOrg {
        slug: "minato-power",
        ja: "みなと電力株式会社",
        en: "Minato Electric Power Co.",
        kind: OrgKind::CriticalInfrastructure,
        sector: "electricity",
        cidr: "203.0.113.0/25",
        domain: "minato-power.example.jp",
        users: &[("minato.analyst", Role::Analyst, Lang::Ja)],
    },
    DemoOrg {
        slug: "aoba-net",
        ja: "あおばネット",
        en: "Aoba Net (ISP)",
        kind: OrgKind::Isp,
        sector: "telecommunications",
        cidr: "203.0.113.128/25",
        domain: "aoba-net.example.jp",
        users: &[("aoba.member", Role::Member, Lang::Ja)],
    },
    DemoOrg {
        slug: "jp-csirt",
        ja: "日本CSIRT協調センター(デモ)",
        en: "Japan CSIRT Coordination Center (demo)",
        kind: OrgKind::Csirt,
        sector: "coordination",
        cidr: "2001:db8:100::/48",
        domain: "csirt.example.jp",
        users: &[("csirt.analyst", Role::Analyst, Lang::En)],
    },
    DemoOrg {
        slug: "kanmon-sec",
        ja: "関門セキュリティ株式会社",
        en: "Kanmon Security Inc.",
        kind: OrgKind::Vendor,
        sector: "security-vendor",
        cidr: "2001:db8:200::/48",
        domain: "kanmon-sec.example.jp",
        users: &[("kanmon.member", Role::Member, Lang::En)],
    },
];

const DEMO_GROUPS: &[(&str, &str, &str, &[&str])] = &[
    (
        "政府CSIRT連絡会 / Government CSIRTs",
        "府省庁のCSIRT間の情報共有 / Sharing among ministry CSIRTs",
        "nisc",
        &["mic", "npa", "meti"],
    ),
    (
        "重要インフラ情報共有 / Critical infrastructure sharing",
        "J-CSIP型のクローズド共有 / A closed J-CSIP-style circle",
        "nisc",
        &["minato-power", "aoba-net"],
    ),
    (
        "電力ISAC / Electricity ISAC",
        "電力事業者の情報共有 / Electricity sector ISAC",
        "minato-power",
        &["meti"],
    ),
    (
        "学術ネットワーク / Academic network",
        "大学・研究機関 / Universities and research",
        "tohoku-u",
        &["jp-csirt"],
    ),
];

/// Loads the demo tenants. Does nothing when they are already there.
pub async fn load_demo(store: &Store) -> Result<DemoReport, ApiError> {
    if store.get_org_by_slug("mic").await.is_ok() {
        return Ok(DemoReport::default());
    }
    let actor = Actor::system();
    let pass = password::generate()?;
    let mut report = DemoReport {
        user_password: Some(pass.clone()),
        ..DemoReport::default()
    };
    for d in DEMO_ORGS {
        let cidr = d
            .cidr
            .parse()
            .map_err(|e| ApiError::Internal(format!("demo cidr {}: {e}", d.cidr)))?;
        let org = ops::create_org(
            store,
            &actor,
            &NewOrg {
                slug: d.slug.into(),
                name_ja: d.ja.into(),
                name_en: d.en.into(),
                kind: d.kind,
                sector: Some(d.sector.into()),
                cidrs: vec![cidr],
                domains: vec![d.domain.into()],
                contacts: vec![
                    Contact {
                        name: format!("{} CSIRT", d.ja),
                        email: format!("csirt@{}", d.domain),
                        lang: Lang::Ja,
                    },
                    Contact {
                        name: format!("{} CSIRT", d.en),
                        email: format!("csirt-en@{}", d.domain),
                        lang: Lang::En,
                    },
                ],
            },
        )
        .await?;
        report.orgs += 1;
        for (username, role, lang) in d.users {
            ops::create_user(
                store,
                &actor,
                &NewUser {
                    org_id: org.id,
                    username: (*username).into(),
                    display_name: String::new(),
                    email: format!("{username}@{}", d.domain),
                    role: *role,
                    lang: *lang,
                },
                Some(&pass),
            )
            .await?;
            report.users += 1;
        }
    }
    for (name, description, owner, members) in DEMO_GROUPS {
        let owner = store.get_org_by_slug(owner).await?.id;
        let mut ids = Vec::new();
        for m in *members {
            ids.push(store.get_org_by_slug(m).await?.id);
        }
        ops::create_group(
            store,
            &actor,
            &NewGroup {
                name: (*name).into(),
                description: (*description).into(),
                owner_org: owner,
                members: ids,
            },
        )
        .await?;
        report.groups += 1;
    }
    report.reports = load_demo_reports(store).await?;
    Ok(report)
}

/// (author username, TLP, group name, anonymous, title, description, indicators)
type DemoReportSpec = (
    &'static str,
    Tlp,
    Option<&'static str>,
    bool,
    &'static str,
    &'static str,
    &'static [(ValueKind, &'static str)],
);

const DEMO_REPORTS: &[DemoReportSpec] = &[
    (
        "npa.analyst",
        Tlp::Amber,
        Some("政府CSIRT連絡会 / Government CSIRTs"),
        false,
        "年金関連を装う標的型メール / Targeted mail posing as pension notices",
        "件名「年金記録の確認について」、パスワード付きZIPを添付し、パスワードは別メールで送付。Encrypted ZIP attached; password sent in a second mail.",
        &[
            (ValueKind::Domain, "nenkin-kakunin.example.net"),
            (ValueKind::Ipv4, "198.51.100.23"),
            (
                ValueKind::Sha256,
                "3f786850e387550fdab836ed7e6dc881de23001b3f786850e387550fdab836ed",
            ),
        ],
    ),
    (
        "minato.analyst",
        Tlp::Amber,
        Some("電力ISAC / Electricity ISAC"),
        true,
        "制御系ベンダーを騙るフィッシング / Phishing impersonating an ICS vendor",
        "保守契約更新を装いVPN認証情報を窃取。Steals VPN credentials under the guise of a maintenance renewal.",
        &[
            (ValueKind::Url, "https://ics-support.example.org/login"),
            (ValueKind::Ipv4, "198.51.100.23"),
        ],
    ),
    (
        "csirt.analyst",
        Tlp::Green,
        None,
        false,
        "IoT機器を狙うボットネットのC2 / C2 servers of an IoT botnet",
        "Telnet総当たりで感染を広げるMirai亜種のC2。C2 of a Mirai variant spreading by Telnet brute force.",
        &[
            (ValueKind::Ipv4, "203.0.113.77"),
            (ValueKind::Domain, "cnc.botnet.example"),
        ],
    ),
    (
        "nisc.analyst",
        Tlp::Clear,
        None,
        false,
        "既知の脆弱性の悪用に関する注意喚起 / Advisory: exploitation of a known vulnerability",
        "VPN装置の脆弱性を悪用する攻撃を観測。Exploitation of a VPN appliance vulnerability observed.",
        &[
            (ValueKind::Cve, "CVE-2024-3400"),
            (ValueKind::Ipv4, "8.8.8.8"),
        ],
    ),
    (
        "mic.analyst",
        Tlp::Red,
        None,
        false,
        "調査中の侵害事案 / Intrusion under investigation",
        "受信者限定。For named recipients only.",
        &[(ValueKind::Domain, "exfil.example.com")],
    ),
];

async fn load_demo_reports(store: &Store) -> Result<usize, ApiError> {
    let mut n = 0;
    for (author, tlp, group, anonymous, title, description, values) in DEMO_REPORTS {
        let user = store.find_user(author).await?;
        let mut principal = crate::auth::principal_for(store, &user, &[]).await?;
        principal.scopes = mamori_access::role_scopes(user.role).to_vec();
        let actor = Actor {
            principal: Some(principal),
            name: user.username.clone(),
            source: "local".into(),
            request_id: "demo".into(),
        };
        let sharing_group = match group {
            Some(name) => Some(store.find_group(name).await?.id),
            None => None,
        };
        let recipients = if *tlp == Tlp::Red {
            vec![store.get_org_by_slug("nisc").await?.id]
        } else {
            vec![]
        };
        let lists = mamori_share::warninglist::WarningLists::built_in();
        crate::sharing::create_report(
            &crate::sharing::ShareCtx {
                store,
                warninglists: &lists,
                pattern_window_ms: mamori_patterns::set::DEFAULT_PATTERN_WINDOW_MS,
            },
            &actor,
            &crate::sharing::ReportInput {
                title: (*title).into(),
                description: (*description).into(),
                tlp: *tlp,
                sharing_group,
                recipients,
                confidence: Some(70),
                labels: vec!["demo".into()],
                attack_techniques: vec![],
                anonymous: *anonymous,
                indicators: values
                    .iter()
                    .map(|(k, v)| crate::sharing::IndicatorInput {
                        kind: Some(*k),
                        value: Some((*v).into()),
                        pattern: None,
                        description: String::new(),
                        valid_from: None,
                        valid_until: None,
                        kill_chain_phases: vec![],
                        confidence: None,
                    })
                    .collect(),
                observables: vec![],
            },
        )
        .await?;
        n += 1;
    }
    Ok(n)
}
