//! The verdict: a 0-100 `score` and the [`Signal`]s behind it, each explained in Japanese and
//! English.
//!
//! Each signal has a weight `w` (0-100). Signals combine like independent probabilities:
//! `score = 100 × (1 − Π(1 − w/100))`, so one strong signal counts a lot, several weak ones add
//! up, and the score never exceeds 100. Each signal id counts once per message.
//!
//! | id | weight | when |
//! |----|-------:|------|
//! | `auth.spf_fail` | 20 | SPF fail/softfail |
//! | `auth.dkim_fail` | 15 | DKIM fail |
//! | `auth.dmarc_fail` | 35 | DMARC fail |
//! | `hdr.return_path_mismatch` | 10 | From and Return-Path domains differ |
//! | `hdr.reply_to_mismatch` | 20 | From and Reply-To domains differ |
//! | `hdr.sender_mismatch` | 5 | From and Sender domains differ |
//! | `hdr.msgid_mismatch` | 5 | Message-ID domain unrelated to From |
//! | `hdr.display_name_spoof` | 25 | display name shows another domain or address than From |
//! | `hdr.from_split` | 40 | From holds a bare display name beside the real address |
//! | `hdr.brand_impersonation` | 30 | display name claims a well-known brand ([`crate::brands`]) the sender domain is not |
//! | `url.address_in_query` | 15 | an e-mail address in a URL's query (tracking, pre-filled login) |
//! | `hdr.no_date` / `recv.time_travel` | 5 | no Date / a hop older than the previous by > 1 h |
//! | `text.lure` | 10 + 5 per extra phrase, ≤ 25 | credential/urgency phrases (Japanese and English) |
//! | `url.suspicious_tld` | 10 | URL host under a TLD favoured by phishing kits |
//! | `url.text_mismatch` | 35 | link text shows another host than the target |
//! | `url.ip_host` | 25 | URL host is an IP address |
//! | `url.userinfo` | 30 | `user@host` disguise in a URL |
//! | `url.shortener` | 10 | URL shortener |
//! | `url.defanged` | 5 | defanged URL (often a forwarded report) |
//! | `url.script` | 35 | `javascript:` or `data:` link |
//! | `url.password_form` | 40 | HTML form with a password field |
//! | `att.executable` | 60 | executable or script attachment |
//! | `att.double_extension` | 50 | `invoice.pdf.exe` style name |
//! | `att.rlo` | 60 | right-to-left override in a name |
//! | `att.type_mismatch` | 30 | content type contradicts the name |
//! | `att.macro` | 50 | Office document with VBA macros |
//! | `att.pdf_active` | 35 | PDF with JavaScript/auto actions/launch |
//! | `att.lnk` | 60 | Windows shortcut |
//! | `att.rtf_object` | 40 | RTF with embedded objects |
//! | `att.disk_image` | 40 | ISO/IMG/VHD disk image |
//! | `att.encrypted_archive` | 30 | encrypted archive |
//! | `att.ppap` | 20 | its password was in the text (PPAP) |
//! | `att.archive_unopened` | 15 | encrypted archive no candidate opened |
//! | `att.opaque_archive` | 20 | RAR archive, or 7z archive that could not be read: members not inspected |
//! | `att.bomb` | 40 | an archive member decompresses beyond the ratio or size limits |
//! | `scan.yara` | highest `score` metadata of the matched rules (0-100), else 60 | a YARA rule matched the message, a body part, an attachment or an archive member |
//! | `parse.problem` | 10 | limits hit, parser panic or malformed parts (not scanner time-outs) |
//! | `nested.suspicious` | nested score × 0.8 | an attached message is itself suspicious |

use serde::{Deserialize, Serialize};

use crate::headers::org_domain;
use crate::report::{Analysis, FileReport};
use crate::scanner::ScanMatch;

/// Score and reasons.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Verdict {
    pub score: u8,
    pub signals: Vec<Signal>,
}

/// One reason for suspicion.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Signal {
    pub id: String,
    pub weight: u8,
    pub ja: String,
    pub en: String,
}

struct Acc(Vec<Signal>);

impl Acc {
    fn add(&mut self, id: &str, weight: u8, ja: &str, en: &str) {
        if !self.0.iter().any(|s| s.id == id) {
            self.0.push(Signal {
                id: id.into(),
                weight,
                ja: ja.into(),
                en: en.into(),
            });
        }
    }
}

/// Computes the verdict for an analysis (nested verdicts must already be computed).
pub fn judge(a: &Analysis) -> Verdict {
    let mut s = Acc(Vec::new());
    let fail = |v: &Option<String>| {
        v.as_deref()
            .is_some_and(|v| matches!(v, "fail" | "softfail" | "hardfail"))
    };
    if fail(&a.auth.spf) {
        s.add(
            "auth.spf_fail",
            20,
            "SPF 認証に失敗しています",
            "SPF check failed",
        );
    }
    if fail(&a.auth.dkim) {
        s.add(
            "auth.dkim_fail",
            15,
            "DKIM 署名の検証に失敗しています",
            "DKIM signature failed",
        );
    }
    if fail(&a.auth.dmarc) {
        s.add(
            "auth.dmarc_fail",
            35,
            "DMARC 認証に失敗しています",
            "DMARC check failed",
        );
    }
    for m in &a.mismatches {
        match m.second.as_str() {
            "return_path" => s.add(
                "hdr.return_path_mismatch",
                10,
                "差出人ドメインと Return-Path が一致しません",
                "From and Return-Path domains differ",
            ),
            "reply_to" => s.add(
                "hdr.reply_to_mismatch",
                20,
                "返信先 (Reply-To) が差出人と別のドメインです",
                "Reply-To points to a different domain than From",
            ),
            _ => s.add(
                "hdr.sender_mismatch",
                5,
                "Sender ヘッダーが差出人と別のドメインです",
                "Sender and From domains differ",
            ),
        }
    }
    if let (Some(id), Some(from)) = (
        &a.headers.message_id_domain,
        a.headers.from.first().and_then(|f| f.domain.as_ref()),
    ) && org_domain(id) != org_domain(from)
        && a.headers
            .return_path_domain
            .as_deref()
            .is_none_or(|r| org_domain(r) != org_domain(id))
    {
        s.add(
            "hdr.msgid_mismatch",
            5,
            "Message-ID のドメインが差出人と無関係です",
            "Message-ID domain is unrelated to From",
        );
    }
    if from_split(a) {
        s.add(
            "hdr.from_split",
            40,
            "差出人欄が表示名だけの宛先と実際のアドレスに分けられています (表示名の偽装)",
            "From is split into a bare display name and the real address (display-name disguise)",
        );
    }
    if let Some(brand) = brand_impersonation(a) {
        s.add(
            "hdr.brand_impersonation",
            30,
            &format!("表示名で有名ブランド「{brand}」を名乗っていますが、差出人ドメインはそのブランドのものではありません"),
            &format!("The display name claims the brand \"{brand}\" but the sender domain is not the brand's"),
        );
    }
    if a.urls.iter().any(|u| address_in_query(&u.url)) {
        s.add(
            "url.address_in_query",
            15,
            "URL のクエリにメールアドレスが埋め込まれています (受信者の追跡や入力済みのログイン画面)",
            "An e-mail address is embedded in a URL's query (recipient tracking or a pre-filled login page)",
        );
    }
    if display_name_spoof(a) {
        s.add(
            "hdr.display_name_spoof",
            25,
            "表示名に差出人アドレスと別のドメインが書かれています",
            "Display name shows a different domain than the sender address",
        );
    }
    let lures = lure_count(a);
    if lures > 0 {
        let w = u8::try_from(10 + 5 * (lures - 1).min(3)).unwrap_or(25);
        s.add(
            "text.lure",
            w,
            "アカウント停止・本人確認・至急などの誘導文句があります",
            "Credential or urgency lure phrases in the text",
        );
    }
    if a.urls
        .iter()
        .any(|u| u.host.as_deref().is_some_and(suspicious_tld))
    {
        s.add(
            "url.suspicious_tld",
            10,
            "フィッシングでよく使われるトップレベルドメインの URL があります",
            "URL under a top-level domain favoured by phishing",
        );
    }
    if a.headers.date.is_none() {
        s.add(
            "hdr.no_date",
            5,
            "Date ヘッダーがないか不正です",
            "Date header missing or invalid",
        );
    }
    if a.received
        .iter()
        .any(|h| h.delay_secs.is_some_and(|d| d < -3600))
    {
        s.add(
            "recv.time_travel",
            5,
            "Received ヘッダーの時刻が前後しています",
            "Received hops go back in time",
        );
    }
    for u in &a.urls {
        if u.text_mismatch {
            s.add(
                "url.text_mismatch",
                35,
                "リンクの表示文字列と実際のリンク先が異なります",
                "Link text shows a different host than its target",
            );
        }
        if u.ip_host {
            s.add(
                "url.ip_host",
                25,
                "IP アドレスを直接指す URL があります",
                "URL points to a bare IP address",
            );
        }
        if u.userinfo {
            s.add(
                "url.userinfo",
                30,
                "URL に「@」を使った偽装があります",
                "URL hides its host behind user@ notation",
            );
        }
        if u.shortener {
            s.add(
                "url.shortener",
                10,
                "短縮 URL が使われています",
                "URL shortener used",
            );
        }
        if u.defanged {
            s.add(
                "url.defanged",
                5,
                "無害化 (hxxp など) された URL があります",
                "Defanged URL present",
            );
        }
        if matches!(u.scheme.as_str(), "javascript" | "data") && u.source != "src" {
            s.add(
                "url.script",
                35,
                "javascript: または data: のリンクがあります",
                "javascript: or data: link",
            );
        }
    }
    if a.forms.iter().any(|f| f.has_password) {
        s.add(
            "url.password_form",
            40,
            "本文にパスワード入力フォームがあります",
            "HTML form asking for a password",
        );
    }
    let mut files: Vec<&FileReport> = Vec::new();
    for f in &a.attachments {
        collect(f, &mut files);
    }
    for f in &files {
        let fl = &f.flags;
        if fl.executable || fl.script {
            s.add(
                "att.executable",
                60,
                "実行ファイルまたはスクリプトが添付されています",
                "Executable or script attached",
            );
        }
        if fl.double_extension {
            s.add(
                "att.double_extension",
                50,
                "二重拡張子のファイル名です",
                "File name with a double extension",
            );
        }
        if fl.rlo {
            s.add(
                "att.rlo",
                60,
                "ファイル名に RLO (右から左) 制御文字が含まれています",
                "Right-to-left override in a file name",
            );
        }
        if fl.type_mismatch {
            s.add(
                "att.type_mismatch",
                30,
                "ファイルの中身が拡張子と一致しません",
                "File content contradicts its name",
            );
        }
        if fl.macros {
            s.add(
                "att.macro",
                50,
                "マクロ付きの Office 文書です",
                "Office document with macros",
            );
        }
        if fl.pdf_active {
            s.add(
                "att.pdf_active",
                35,
                "PDF に JavaScript や自動実行の指定があります",
                "PDF with JavaScript or automatic actions",
            );
        }
        if fl.lnk {
            s.add(
                "att.lnk",
                60,
                "Windows ショートカット (LNK) が添付されています",
                "Windows shortcut (LNK) attached",
            );
        }
        if fl.rtf_object {
            s.add(
                "att.rtf_object",
                40,
                "RTF に埋め込みオブジェクトがあります",
                "RTF with embedded objects",
            );
        }
        if fl.disk_image {
            s.add(
                "att.disk_image",
                40,
                "ディスクイメージ (ISO/IMG/VHD) が添付されています",
                "Disk image (ISO/IMG/VHD) attached",
            );
        }
        if fl.opaque_archive {
            s.add(
                "att.opaque_archive",
                20,
                "RAR 形式のアーカイブ、または読めない 7z アーカイブです (中身は検査していません)",
                "RAR archive, or unreadable 7z archive, attached (its contents were not inspected)",
            );
        }
        if let Some(ar) = &f.archive
            && ar.encrypted
        {
            s.add(
                "att.encrypted_archive",
                30,
                "パスワード付きの圧縮ファイル (ZIP/7z) が添付されています",
                "Encrypted archive attached",
            );
            if ar.password.is_some() {
                s.add(
                    "att.ppap",
                    20,
                    "圧縮ファイルのパスワードが本文 (または別メール) に書かれています (PPAP)",
                    "The archive password is in the text (PPAP)",
                );
            } else {
                s.add(
                    "att.archive_unopened",
                    15,
                    "パスワード付きの圧縮ファイルを開けず中身を確認できません",
                    "Encrypted archive could not be opened",
                );
            }
        }
    }
    if a.findings.iter().any(|f| f.id == "zip.bomb") {
        s.add(
            "att.bomb",
            40,
            "解凍すると異常に大きくなる ZIP (ZIP 爆弾) です",
            "Archive that decompresses to an abnormal size (zip bomb)",
        );
    }
    scan_signal(a, &mut s);
    if a.findings
        .iter()
        .any(|f| !f.id.starts_with("scan.") && f.id != "limit.scan")
    {
        s.add(
            "parse.problem",
            10,
            "メールの構造に異常があります (制限超過や解析エラー)",
            "Malformed message (limits hit or parse errors)",
        );
    }
    if let Some(n) = a.nested.iter().map(|n| n.verdict.score).max()
        && n >= 20
    {
        let w = u8::try_from(u32::from(n) * 4 / 5).unwrap_or(80);
        s.add(
            "nested.suspicious",
            w,
            "添付されたメールが疑わしい内容です",
            "An attached message is itself suspicious",
        );
    }
    let mut benign = 1.0_f64;
    for sig in &s.0 {
        benign *= 1.0 - f64::from(sig.weight.min(100)) / 100.0;
    }
    let score = ((1.0 - benign) * 100.0).round().clamp(0.0, 100.0);
    Verdict {
        score: score as u8,
        signals: s.0,
    }
}

/// Weight of a scanner match whose rule carries no usable `score` metadata.
pub const DEFAULT_SCAN_WEIGHT: u8 = 60;

/// One signal per scanner (`scan.yara`) naming the rules that matched (at most five by name).
fn scan_signal(a: &Analysis, s: &mut Acc) {
    let mut scanners: Vec<&str> = a.scan_matches.iter().map(|m| m.scanner.as_str()).collect();
    scanners.sort_unstable();
    scanners.dedup();
    for scanner in scanners {
        let hits: Vec<&ScanMatch> = a
            .scan_matches
            .iter()
            .filter(|m| m.scanner == scanner)
            .collect();
        let mut rules: Vec<String> = hits.iter().map(|m| m.qualified_rule()).collect();
        rules.sort();
        rules.dedup();
        let weight = hits
            .iter()
            .map(|m| {
                m.meta
                    .get("score")
                    .and_then(|v| v.trim().parse::<i64>().ok())
                    .map_or(DEFAULT_SCAN_WEIGHT, |v| {
                        u8::try_from(v.clamp(0, 100)).unwrap_or(100)
                    })
            })
            .max()
            .unwrap_or(DEFAULT_SCAN_WEIGHT);
        let mut shown = rules.iter().take(5).cloned().collect::<Vec<_>>().join(", ");
        let (mut ja_more, mut en_more) = (String::new(), String::new());
        if rules.len() > 5 {
            ja_more = format!(" ほか {} 件", rules.len() - 5);
            en_more = format!(" and {} more", rules.len() - 5);
        }
        if shown.is_empty() {
            shown = "?".into();
        }
        let label = scanner.to_uppercase();
        s.add(
            &format!("scan.{scanner}"),
            weight,
            &format!("{label} ルールに一致しました: {shown}{ja_more}"),
            &format!("Matched {label} rules: {shown}{en_more}"),
        );
    }
}

/// `From: Microsoft account team ,_<no-reply@elsewhere.example>`: a mailbox with a name and no
/// address beside one with an address, so that mail clients show the bare name.
fn from_split(a: &Analysis) -> bool {
    let from = &a.headers.from;
    from.len() > 1
        && from.iter().any(|m| m.address.is_none() && m.name.is_some())
        && from.iter().any(|m| m.address.is_some())
}

/// A brand claimed by any From display name while the sender's domain (the first From address
/// with one) is not the brand's.
fn brand_impersonation(a: &Analysis) -> Option<&'static str> {
    let domain = a.headers.from.iter().find_map(|m| m.domain.as_deref());
    a.headers
        .from
        .iter()
        .filter_map(|m| m.name.as_deref())
        .find_map(|name| crate::brands::impersonated(name, domain))
}

/// Whether an http(s) URL's query carries an e-mail address (`?email=user@example.jp`, also
/// percent-encoded as `%40`).
fn address_in_query(url: &str) -> bool {
    let lower = url.to_ascii_lowercase();
    if !(lower.starts_with("http://") || lower.starts_with("https://")) {
        return false;
    }
    let Some((_, query)) = lower.split_once('?') else {
        return false;
    };
    let query = query.replace("%40", "@");
    query.match_indices('@').any(|(at, _)| {
        let local = query[..at]
            .rsplit(['=', '&', '?', '/', ':', ';'])
            .next()
            .unwrap_or("");
        let domain = query[at + 1..]
            .split(['&', '#', '/', ';', '=', '?'])
            .next()
            .unwrap_or("");
        !local.is_empty()
            && local
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '+' | '%'))
            && domain.contains('.')
            && domain
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-'))
    })
}

const LURES: &[&str] = &[
    "verify your account",
    "account suspended",
    "account has been suspended",
    "unusual activity",
    "unusual sign-in",
    "confirm your identity",
    "update your payment",
    "password expires",
    "password will expire",
    "mailbox is full",
    "storage is full",
    "verify your identity",
    "account will be closed",
    "suspicious activity",
    "claim your",
    "you have won",
    "act now",
    "urgent",
    "アカウントが停止",
    "アカウントを停止",
    "アカウントの確認",
    "本人確認",
    "パスワードの有効期限",
    "お支払い情報",
    "支払い方法",
    "不正アクセス",
    "不正ログイン",
    "緊急",
    "至急",
    "ロックされ",
    "利用停止",
    "ご登録情報",
    "有効期限が切れ",
    "再設定してください",
    // Credential and prize lures common in public phishing sets (phishing_pot) and in the
    // Council of Anti-Phishing Japan's reports; none occurs in the benign corpora.
    "tried to log in",
    "sign-in attempt",
    "signin activity",
    "sign-in activity",
    "has been locked",
    "verify your",
    "confirm your account",
    "password reset",
    "final notice",
    "dear customer",
    "dear user",
    "security alert",
    "congratulations",
    "gift card",
    "deactivat",
    "お荷物のお届け",
    "不在のため",
    "ご利用確認",
    "カードのご利用",
    "セキュリティ強化",
    "当選",
    "ポイントが失効",
    "ログインがありました",
    "アカウント情報の更新",
    "確認が取れない",
];

/// Distinct lure phrases in the subject and bodies.
fn lure_count(a: &Analysis) -> usize {
    let mut text = a.headers.subject.clone().unwrap_or_default().to_lowercase();
    for b in &a.bodies {
        text.push('\n');
        text.push_str(&b.text.to_lowercase());
    }
    LURES.iter().filter(|l| text.contains(*l)).count()
}

const SUSPICIOUS_TLDS: &[&str] = &[
    "zip", "mov", "xyz", "top", "click", "country", "gq", "tk", "ml", "cf", "ga", "work", "rest",
    "cam", "icu", "buzz", "monster", "sbs", "cfd", "quest", "shop", "online",
];

fn suspicious_tld(host: &str) -> bool {
    host.rsplit('.')
        .next()
        .is_some_and(|t| SUSPICIOUS_TLDS.contains(&t))
}

/// `"PayPal <service@paypal.com>" <x@evil.example>` style: the display name carries an
/// address or a domain whose organisation differs from the real sender's.
fn display_name_spoof(a: &Analysis) -> bool {
    let Some(from) = a.headers.from.first() else {
        return false;
    };
    let (Some(name), Some(domain)) = (&from.name, &from.domain) else {
        return false;
    };
    name.split(|c: char| c.is_whitespace() || matches!(c, '<' | '>' | '(' | ')' | '"' | '\'' | ','))
        .filter_map(|tok| {
            let host = tok
                .rsplit('@')
                .next()
                .unwrap_or(tok)
                .trim_matches('.')
                .to_ascii_lowercase();
            let labels: Vec<&str> = host.split('.').collect();
            let tld_ok = labels.len() >= 2
                && labels.iter().all(|l| !l.is_empty())
                && labels
                    .last()
                    .is_some_and(|t| t.len() >= 2 && t.chars().all(|c| c.is_ascii_alphabetic()));
            tld_ok.then_some(host)
        })
        .any(|host| org_domain(&host) != org_domain(domain))
}

fn collect<'a>(f: &'a FileReport, out: &mut Vec<&'a FileReport>) {
    out.push(f);
    if let Some(ar) = &f.archive {
        for e in &ar.entries {
            collect(e, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{Mailbox, Mismatch};

    #[test]
    fn combines_weights() {
        let mut a = Analysis::default();
        a.headers.date = Some("2025-01-01T00:00:00Z".into());
        a.headers.from = vec![Mailbox::default()];
        assert_eq!(judge(&a).score, 0);
        a.mismatches.push(Mismatch {
            first: "from".into(),
            first_domain: "a.jp".into(),
            second: "return_path".into(),
            second_domain: "b.jp".into(),
        });
        a.auth.dmarc = Some("fail".into());
        let v = judge(&a);
        // 1 - 0.9 * 0.65 = 0.415
        assert_eq!(v.score, 41);
        assert_eq!(v.signals[0].ja, "DMARC 認証に失敗しています");
        assert_eq!(v.signals[1].en, "From and Return-Path domains differ");
    }

    #[test]
    fn spoofed_names_lures_and_tlds() {
        let mut a = Analysis::default();
        a.headers.date = Some("2025-01-01T00:00:00Z".into());
        a.headers.from = vec![Mailbox {
            name: Some("PayPal service@paypal.com".into()),
            address: Some("x@evil.example".into()),
            domain: Some("evil.example".into()),
        }];
        a.headers.subject = Some("【至急】アカウントが停止されました".into());
        a.urls.push(crate::report::UrlRecord {
            host: Some("login-paypal.top".into()),
            ..Default::default()
        });
        let v = judge(&a);
        let ids: Vec<&str> = v.signals.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "hdr.brand_impersonation",
                "hdr.display_name_spoof",
                "text.lure",
                "url.suspicious_tld"
            ]
        );
        assert_eq!(v.signals[2].weight, 15);
        assert!(v.signals[0].en.contains("paypal"));
        a.headers.from[0].name = Some("経理部 山田".into());
        a.headers.from[0].domain = Some("mail.evil.example".into());
        assert!(!display_name_spoof(&a));
        assert!(brand_impersonation(&a).is_none());
    }

    #[test]
    fn split_from_brands_and_addresses_in_urls() {
        let mut a = Analysis::default();
        a.headers.date = Some("2025-01-01T00:00:00Z".into());
        // `From: Microsoft account team ,_<no-reply@access-accsecurity.com>`
        a.headers.from = vec![
            Mailbox {
                name: Some("Microsoft account team".into()),
                address: None,
                domain: None,
            },
            Mailbox {
                name: Some("_".into()),
                address: Some("no-reply@access-accsecurity.com".into()),
                domain: Some("access-accsecurity.com".into()),
            },
        ];
        a.urls.push(crate::report::UrlRecord {
            url: "https://grupo-o.example/x/retsdfw.php?email=victim%40example.jp".into(),
            ..Default::default()
        });
        let v = judge(&a);
        let ids: Vec<&str> = v.signals.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "hdr.from_split",
                "hdr.brand_impersonation",
                "url.address_in_query"
            ]
        );
        // 1 - 0.6 * 0.7 * 0.85 = 0.643
        assert_eq!(v.score, 64);
        assert!(address_in_query("http://h.example/?u=a.b+c@d.example&x=1"));
        assert!(!address_in_query("mailto:someone@example.jp?subject=x"));
        assert!(!address_in_query("https://h.example/a@b/?q=1"));
        assert!(!address_in_query("https://h.example/?q=@handle"));
    }
}
