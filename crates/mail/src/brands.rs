//! Well-known brands that phishing impersonates, with the domains each really sends from. A
//! display name that claims a brand (as a word, any case; Japanese names as written) while the
//! sender's address is outside that brand's domains is the most common lure in public phishing
//! sets (phishing_pot: about one message in five). The table is data: extend it, never match
//! brands anywhere else.

use crate::headers::org_domain;

/// (name as it appears in a display name, domains the brand sends from).
const BRANDS: &[(&str, &[&str])] = &[
    (
        "paypal",
        &["paypal.com", "paypal.jp", "paypal-communication.com"],
    ),
    (
        "microsoft",
        &[
            "microsoft.com",
            "office.com",
            "outlook.com",
            "live.com",
            "hotmail.com",
            "microsoftonline.com",
            "office365.com",
            "onmicrosoft.com",
            "sharepoint.com",
            "msn.com",
            "xbox.com",
            "linkedin.com",
            "github.com",
            "skype.com",
            "azure.com",
            "bing.com",
        ],
    ),
    (
        "office 365",
        &[
            "microsoft.com",
            "office.com",
            "office365.com",
            "microsoftonline.com",
        ],
    ),
    (
        "outlook",
        &["microsoft.com", "outlook.com", "office.com", "live.com"],
    ),
    ("onedrive", &["microsoft.com", "onedrive.com", "live.com"]),
    ("sharepoint", &["microsoft.com", "sharepoint.com"]),
    (
        "apple",
        &["apple.com", "icloud.com", "me.com", "mac.com", "itunes.com"],
    ),
    ("icloud", &["apple.com", "icloud.com"]),
    (
        "amazon",
        &[
            "amazon.com",
            "amazon.co.jp",
            "amazon.co.uk",
            "amazon.de",
            "amazon.fr",
            "amazon.it",
            "amazon.es",
            "amazon.ca",
            "amazon.in",
            "amazon.com.au",
            "amazonaws.com",
            "amazonses.com",
            "aws.com",
            "primevideo.com",
            "audible.com",
        ],
    ),
    ("アマゾン", &["amazon.co.jp", "amazon.com"]),
    ("netflix", &["netflix.com", "netflix.net"]),
    (
        "facebook",
        &[
            "facebook.com",
            "facebookmail.com",
            "fb.com",
            "meta.com",
            "instagram.com",
        ],
    ),
    (
        "instagram",
        &[
            "instagram.com",
            "facebookmail.com",
            "facebook.com",
            "meta.com",
        ],
    ),
    ("whatsapp", &["whatsapp.com", "facebook.com", "meta.com"]),
    (
        "google",
        &[
            "google.com",
            "gmail.com",
            "googlemail.com",
            "youtube.com",
            "google.co.jp",
        ],
    ),
    ("linkedin", &["linkedin.com", "microsoft.com"]),
    ("dhl", &["dhl.com", "dhl.de", "dhl.co.jp", "dpdhl.com"]),
    ("fedex", &["fedex.com"]),
    ("ups", &["ups.com"]),
    ("usps", &["usps.com", "usps.gov"]),
    ("docusign", &["docusign.com", "docusign.net"]),
    ("dropbox", &["dropbox.com", "dropboxmail.com"]),
    ("adobe", &["adobe.com", "adobesign.com", "echosign.com"]),
    ("metamask", &["metamask.io", "consensys.net"]),
    ("coinbase", &["coinbase.com"]),
    ("binance", &["binance.com"]),
    ("costco", &["costco.com", "costco.co.jp"]),
    ("walmart", &["walmart.com"]),
    ("wells fargo", &["wellsfargo.com"]),
    ("bank of america", &["bankofamerica.com", "bofa.com"]),
    (
        "american express",
        &["americanexpress.com", "aexp.com", "americanexpress.co.jp"],
    ),
    ("norton", &["norton.com", "nortonlifelock.com", "gen.com"]),
    ("mcafee", &["mcafee.com"]),
    ("geek squad", &["geeksquad.com", "bestbuy.com"]),
    (
        "rakuten",
        &[
            "rakuten.co.jp",
            "rakuten.com",
            "rakuten-card.co.jp",
            "rakuten-bank.co.jp",
        ],
    ),
    (
        "楽天",
        &[
            "rakuten.co.jp",
            "rakuten.com",
            "rakuten-card.co.jp",
            "rakuten-bank.co.jp",
        ],
    ),
    (
        "三井住友",
        &[
            "smbc.co.jp",
            "smbc-card.com",
            "vpass.ne.jp",
            "smbc-card.co.jp",
        ],
    ),
    ("smbc", &["smbc.co.jp", "smbc-card.com", "vpass.ne.jp"]),
    ("三菱ufj", &["mufg.jp", "mufgcard.com"]),
    ("mufg", &["mufg.jp", "mufgcard.com"]),
    (
        "みずほ",
        &["mizuhobank.co.jp", "mizuho-fg.co.jp", "mizuho-sc.com"],
    ),
    ("ゆうちょ", &["japanpost.jp"]),
    ("日本郵便", &["japanpost.jp"]),
    ("japan post", &["japanpost.jp"]),
    ("ヤマト運輸", &["kuronekoyamato.co.jp", "yamato-hd.co.jp"]),
    ("佐川急便", &["sagawa-exp.co.jp"]),
    ("ドコモ", &["docomo.ne.jp", "nttdocomo.co.jp"]),
    ("docomo", &["docomo.ne.jp", "nttdocomo.co.jp"]),
    (
        "ソフトバンク",
        &["softbank.jp", "softbank.co.jp", "softbank.ne.jp"],
    ),
    ("イオン", &["aeon.co.jp", "aeon.com", "aeonbank.co.jp"]),
    ("エポス", &["eposcard.co.jp"]),
    ("セゾン", &["saisoncard.co.jp", "saison.co.jp"]),
    ("jcb", &["jcb.co.jp", "jcb.jp", "jcb.com"]),
    ("国税庁", &["nta.go.jp"]),
    ("マイナポータル", &["myna.go.jp", "digital.go.jp"]),
    ("えきねっと", &["eki-net.com", "jreast.co.jp"]),
    ("メルカリ", &["mercari.com", "mercari.jp"]),
];

/// The brand a display name claims when the sender `domain` is none of that brand's, or the
/// brand alone when there is no sender domain to compare.
pub fn impersonated<'a>(display_name: &str, domain: Option<&str>) -> Option<&'a str> {
    let lower = display_name.to_lowercase();
    let sender = domain.map(|d| d.trim_end_matches('.').to_ascii_lowercase());
    BRANDS.iter().find_map(|(brand, domains)| {
        let named = if brand.is_ascii() {
            contains_word(&lower, brand)
        } else {
            lower.contains(brand)
        };
        if !named {
            return None;
        }
        let own = sender.as_deref().is_some_and(|d| {
            domains
                .iter()
                .any(|b| d == *b || d.ends_with(&format!(".{b}")) || org_domain(d) == org_domain(b))
        });
        (!own).then_some(*brand)
    })
}

/// `word` in `text` with no ASCII letter or digit right before or after it.
fn contains_word(text: &str, word: &str) -> bool {
    let bytes = text.as_bytes();
    text.match_indices(word).any(|(at, _)| {
        let before = at.checked_sub(1).map(|i| bytes[i]);
        let after = bytes.get(at + word.len()).copied();
        !before.is_some_and(|b| b.is_ascii_alphanumeric())
            && !after.is_some_and(|b| b.is_ascii_alphanumeric())
    })
}

#[cfg(test)]
mod tests {
    use super::impersonated;

    #[test]
    fn brands_outside_their_domains() {
        assert_eq!(
            impersonated("Microsoft account team", Some("access-accsecurity.com")),
            Some("microsoft")
        );
        assert_eq!(
            impersonated(
                "Microsoft account team",
                Some("accountprotection.microsoft.com")
            ),
            None
        );
        assert_eq!(impersonated("Amazon.co.jp", Some("amazon.co.jp")), None);
        assert_eq!(
            impersonated("Amazon.co.jp カスタマーサービス", Some("amazon-jp.xyz")),
            Some("amazon")
        );
        assert_eq!(impersonated("楽天カード", Some("rakuten-card.co.jp")), None);
        assert_eq!(
            impersonated("楽天カード株式会社", Some("mail.rakuten-ca.top")),
            Some("楽天")
        );
        assert_eq!(impersonated("Backups team", Some("example.org")), None);
        assert_eq!(impersonated("Facebook", None), Some("facebook"));
        assert_eq!(impersonated("Taro Yamada", Some("example.jp")), None);
    }
}
