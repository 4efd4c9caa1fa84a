//! The console driven by a real headless Chromium through ChromeDriver (fantoccini): sign in,
//! switch language, manage organisations, sign out. Needs Debian's `chromium` and
//! `chromium-driver` (installed by `.ci/setup`); when they are absent the test says so and
//! passes, unless MAMORI_REQUIRE_BROWSER=1 (set by `test.sh`) makes their absence a failure.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

mod common;

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Backend, hub_with, send};
use fantoccini::{ClientBuilder, Locator};

struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn find(bin: &str) -> Option<String> {
    ["/usr/bin/", "/usr/local/bin/"]
        .iter()
        .map(|d| format!("{d}{bin}"))
        .find(|p| std::path::Path::new(p).exists())
}

/// Clicks something that loads a new page and waits until the old page is gone, so that the
/// next lookup can not find an element of the page being replaced (a stale reference).
async fn click_nav(
    c: &fantoccini::Client,
    loc: Locator<'_>,
) -> Result<(), fantoccini::error::CmdError> {
    let old = c.find(Locator::Css("html")).await?;
    c.find(loc).await?.click().await?;
    for _ in 0..200 {
        if old.tag_name().await.is_err() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    c.wait().for_element(Locator::Css("main")).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_login_language_and_org_management_in_chromium() {
    let (Some(chromium), Some(chromedriver)) = (find("chromium"), find("chromedriver")) else {
        if std::env::var("MAMORI_REQUIRE_BROWSER").as_deref() == Ok("1") {
            panic!("chromium/chromedriver are not installed (run .ci/setup)");
        }
        eprintln!(
            "SKIPPED: chromium and chromedriver are not installed; the browser test did not run"
        );
        return;
    };

    // Feature unification across the workspace can enable both of rustls' crypto providers
    // (ring via reqwest, aws-lc-rs via hyper-rustls defaults); choose one explicitly.
    let _ = rustls::crypto::ring::default_provider().install_default();

    // The hub on a real loopback socket.
    let mut rules = mamori_detect::RulesetBuilder::new();
    rules.add_source(
        "rule.yml",
        "title: Encoded PowerShell\nid: 11111111-2222-3333-4444-555555555555\nlevel: high\nlogsource:\n  product: windows\n  category: process_creation\ndetection:\n  sel:\n    CommandLine|contains: ' -enc '\n  condition: sel\n",
    );
    let h = hub_with(
        Backend::Sqlite,
        mamori_server::Monitoring {
            engine: mamori_pipeline::Engine::new(rules.build().0),
            ..mamori_server::Monitoring::default()
        },
    )
    .await;
    // A sensor of the member organisation reports an encoded PowerShell start.
    let (_, sensor_token) = h
        .store
        .create_sensor(h.member_org.parse().unwrap(), "ws-sensor")
        .await
        .unwrap();
    let event = serde_json::json!({"Event": {"System": {"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 1, "Computer": "ws-browser"},
        "EventData": {"Image": "C:\\Windows\\powershell.exe", "CommandLine": "powershell -enc SQBFAFgA"}}});
    let r = send(
        &h.app,
        axum::http::Request::builder()
            .method("POST")
            .uri("/api/v1/events")
            .header("authorization", format!("Bearer {sensor_token}"))
            .header("content-type", "application/x-ndjson")
            .body(axum::body::Body::from(event.to_string()))
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, axum::http::StatusCode::ACCEPTED, "{}", r.body);
    let pass = "browser-password-1";
    let admin = h.store.find_user("admin").await.unwrap();
    h.store
        .set_password_hash(admin.id, &mamori_server::password::hash(pass).unwrap())
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = h.app.clone();
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    let base = format!("http://{addr}");

    let port = mamori_testkit::free_port();
    let _driver = Driver(
        Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver"),
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "chromedriver did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    let profile = tempfile::tempdir().unwrap();
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": chromium,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--lang=ja", "--window-size=1280,900",
                format!("--user-data-dir={}", profile.path().display()),
            ],
            "prefs": {"intl.accept_languages": "ja"}
        }),
    );
    let c = ClientBuilder::rustls()
        .expect("rustls")
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("connect to chromedriver");

    let result = async {
        // Japanese by default (Accept-Language: ja).
        c.goto(&format!("{base}/orgs")).await?;
        assert!(c.current_url().await?.as_str().contains("/login?next="));
        let title = c.find(Locator::Css("h1")).await?.text().await?;
        assert_eq!(title, "ログイン");

        // A wrong password is refused with a message.
        c.find(Locator::Id("username"))
            .await?
            .send_keys("admin")
            .await?;
        c.find(Locator::Id("password"))
            .await?
            .send_keys("wrong-password-xx")
            .await?;
        click_nav(&c, Locator::Id("login-submit")).await?;
        let err = c.find(Locator::Id("login-error")).await?.text().await?;
        assert!(err.contains("パスワード"), "{err}");

        c.find(Locator::Id("username"))
            .await?
            .send_keys("admin")
            .await?;
        c.find(Locator::Id("password"))
            .await?
            .send_keys(pass)
            .await?;
        click_nav(&c, Locator::Id("login-submit")).await?;
        assert!(c.current_url().await?.path().ends_with("/orgs"));
        assert_eq!(
            c.find(Locator::Id("page-title")).await?.text().await?,
            "組織"
        );

        // Switch to English; the choice sticks across pages.
        click_nav(&c, Locator::Id("lang-en")).await?;
        assert_eq!(
            c.find(Locator::Id("page-title")).await?.text().await?,
            "Organisations"
        );
        c.goto(&format!("{base}/")).await?;
        assert_eq!(
            c.find(Locator::Id("page-title")).await?.text().await?,
            "Dashboard"
        );
        c.find(Locator::Css("svg.chart")).await?;

        // Create an organisation with a Japanese name through the form.
        c.goto(&format!("{base}/orgs")).await?;
        c.find(Locator::Id("org-slug"))
            .await?
            .send_keys("pref-fukushima")
            .await?;
        c.find(Locator::Id("org-name-ja"))
            .await?
            .send_keys("福島県")
            .await?;
        c.find(Locator::Id("org-name-en"))
            .await?
            .send_keys("Fukushima Prefecture")
            .await?;
        c.find(Locator::Css("#org-kind option[value='municipality']"))
            .await?
            .click()
            .await?;
        click_nav(&c, Locator::Id("org-submit")).await?;
        let ok = c.find(Locator::Css(".flash.ok")).await?.text().await?;
        assert_eq!(ok, "Organisation created");
        let row = c
            .find(Locator::Css("tr[data-slug='pref-fukushima']"))
            .await?
            .text()
            .await?;
        assert!(
            row.contains("福島県") && row.contains("Municipality"),
            "{row}"
        );

        // Back to Japanese: the same row, translated kind.
        click_nav(&c, Locator::Id("lang-ja")).await?;
        let row = c
            .find(Locator::Css("tr[data-slug='pref-fukushima']"))
            .await?
            .text()
            .await?;
        assert!(row.contains("地方公共団体"), "{row}");
        if let Ok(dir) = std::env::var("MAMORI_SCREENSHOT_DIR") {
            let png = c.screenshot().await?;
            std::fs::write(format!("{dir}/console-orgs.png"), png).ok();
        }

        // Share a report through the form; the defanged indicator is normalised and scored.
        c.goto(&format!("{base}/reports")).await?;
        c.find(Locator::Id("report-title"))
            .await?
            .send_keys("標的型メール(ブラウザ試験)")
            .await?;
        c.find(Locator::Css("#report-tlp option[value='GREEN']"))
            .await?
            .click()
            .await?;
        c.find(Locator::Id("report-indicators"))
            .await?
            .send_keys("url hxxp://evil.example[.]com/a.zip")
            .await?;
        click_nav(&c, Locator::Id("report-submit")).await?;
        assert_eq!(
            c.find(Locator::Id("report-tlp")).await?.text().await?,
            "TLP:GREEN"
        );
        let table = c.find(Locator::Id("indicators")).await?.text().await?;
        assert!(table.contains("http://evil.example.com/a.zip"), "{table}");
        if let Ok(dir) = std::env::var("MAMORI_SCREENSHOT_DIR") {
            let png = c.screenshot().await?;
            std::fs::write(format!("{dir}/console-report.png"), png).ok();
        }

        // Alerts: the hub administrator sees the member's alert, triages and escalates it.
        click_nav(&c, Locator::Css("a[href='/alerts']")).await?;
        assert_eq!(
            c.find(Locator::Id("page-title")).await?.text().await?,
            "アラート"
        );
        c.find(Locator::Css("svg.chart")).await?;
        let row = c
            .find(Locator::Css("#alerts tbody tr"))
            .await?
            .text()
            .await?;
        assert!(
            row.contains("Encoded PowerShell") && row.contains("ws-browser"),
            "{row}"
        );
        click_nav(&c, Locator::Css("#alerts tbody tr a")).await?;
        c.find(Locator::Css("#triage-status option[value='acknowledged']"))
            .await?
            .click()
            .await?;
        c.find(Locator::Id("triage-assignee"))
            .await?
            .send_keys("admin")
            .await?;
        click_nav(&c, Locator::Id("triage-submit")).await?;
        assert_eq!(
            c.find(Locator::Id("alert-status")).await?.text().await?,
            "確認済み"
        );
        assert_eq!(
            c.find(Locator::Id("alert-assignee")).await?.text().await?,
            "admin"
        );
        let evidence = c
            .find(Locator::Css("details.evidence pre"))
            .await?
            .text()
            .await?;
        assert!(evidence.contains("ws-browser"), "{evidence}");
        if let Ok(dir) = std::env::var("MAMORI_SCREENSHOT_DIR") {
            let png = c.screenshot().await?;
            std::fs::write(format!("{dir}/console-alert.png"), png).ok();
        }
        click_nav(&c, Locator::Id("escalate-submit")).await?;
        assert!(c.current_url().await?.path().starts_with("/cases/"));
        let timeline = c.find(Locator::Id("timeline")).await?.text().await?;
        assert!(timeline.contains("ws-browser"), "{timeline}");
        // Event search finds the event by a Japanese-free substring and by field.
        c.goto(&format!("{base}/events?q=SQBFAFgA")).await?;
        let rows = c.find(Locator::Css("#events tbody")).await?.text().await?;
        assert!(rows.contains("ws-browser"), "{rows}");

        // Sign out: protected pages redirect to the login page again.
        click_nav(&c, Locator::Id("logout")).await?;
        c.goto(&format!("{base}/orgs")).await?;
        assert!(c.current_url().await?.as_str().contains("/login"));
        Ok::<(), fantoccini::error::CmdError>(())
    }
    .await;
    c.close().await.ok();
    result.expect("browser session");
    assert!(h.store.get_org_by_slug("pref-fukushima").await.is_ok());
}
