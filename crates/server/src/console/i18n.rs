//! The console's message catalogue in Japanese and English, and the choice of language: the
//! `mamori_lang` cookie set by the switch on every page, else the browser's Accept-Language,
//! else Japanese.

use std::collections::HashMap;
use std::sync::OnceLock;

use axum::http::HeaderMap;
use axum_extra::extract::CookieJar;
use mamori_model::Lang;

/// The cookie remembering the chosen language.
pub const LANG_COOKIE: &str = "mamori_lang";

/// Every message: key, Japanese, English.
const MESSAGES: &[(&str, &str, &str)] = &[
    ("app.name", "Mamori 守り", "Mamori"),
    ("app.tagline", "サイバー防御ハブ", "Cyber-defence hub"),
    ("nav.dashboard", "ダッシュボード", "Dashboard"),
    ("nav.orgs", "組織", "Organisations"),
    ("nav.users", "ユーザー", "Users"),
    ("nav.groups", "共有グループ", "Sharing groups"),
    ("nav.tokens", "APIトークン", "API tokens"),
    ("nav.audit", "監査ログ", "Audit log"),
    ("nav.logout", "ログアウト", "Sign out"),
    ("nav.language", "言語", "Language"),
    ("login.title", "ログイン", "Sign in"),
    ("login.username", "ユーザー名", "Username"),
    ("login.password", "パスワード", "Password"),
    ("login.submit", "ログイン", "Sign in"),
    (
        "login.failed",
        "ユーザー名またはパスワードが違います",
        "Wrong username or password",
    ),
    (
        "login.limited",
        "試行回数が多すぎます。しばらくしてから再試行してください",
        "Too many attempts; try again later",
    ),
    ("dash.title", "ダッシュボード", "Dashboard"),
    ("dash.orgs", "組織数", "Organisations"),
    ("dash.users", "ユーザー数", "Users"),
    ("dash.groups", "共有グループ数", "Sharing groups"),
    ("dash.audit", "監査ログ件数", "Audit entries"),
    ("dash.by_kind", "種別ごとの組織", "Organisations by kind"),
    ("dash.by_role", "ロールごとのユーザー", "Users by role"),
    ("dash.welcome", "ようこそ", "Welcome"),
    (
        "dash.by_tlp",
        "閲覧可能な共有レポート(TLP別)",
        "Reports you may see, by TLP",
    ),
    ("org.title", "組織", "Organisations"),
    ("org.create", "組織を作成", "Create organisation"),
    ("org.slug", "識別子", "Handle"),
    ("org.name_ja", "名称(日本語)", "Name (Japanese)"),
    ("org.name_en", "名称(英語)", "Name (English)"),
    ("org.kind", "種別", "Kind"),
    ("org.sector", "セクター", "Sector"),
    ("org.cidrs", "IPアドレス範囲", "IP ranges"),
    ("org.domains", "ドメイン", "Domains"),
    ("org.contact", "通知先", "Notice contact"),
    ("org.contact_name", "通知先の名前", "Contact name"),
    ("org.contact_email", "通知先メール", "Contact e-mail"),
    ("org.contact_lang", "通知の言語", "Contact language"),
    ("org.created", "組織を作成しました", "Organisation created"),
    ("org.deleted", "組織を削除しました", "Organisation deleted"),
    ("kind.ministry", "府省庁", "Ministry"),
    ("kind.agency", "機関", "Agency"),
    ("kind.municipality", "地方公共団体", "Municipality"),
    ("kind.university", "大学", "University"),
    (
        "kind.critical-infrastructure",
        "重要インフラ",
        "Critical infrastructure",
    ),
    ("kind.isp", "ISP", "ISP"),
    ("kind.csirt", "CSIRT", "CSIRT"),
    ("kind.vendor", "ベンダー", "Vendor"),
    ("user.title", "ユーザー", "Users"),
    ("user.create", "ユーザーを作成", "Create user"),
    ("user.username", "ユーザー名", "Username"),
    ("user.display_name", "表示名", "Display name"),
    ("user.email", "メール", "E-mail"),
    ("user.org", "組織", "Organisation"),
    ("user.role", "ロール", "Role"),
    ("user.lang", "言語", "Language"),
    (
        "user.password",
        "初期パスワード(12文字以上)",
        "Initial password (12+ characters)",
    ),
    ("user.status", "状態", "Status"),
    ("user.disabled", "無効", "Disabled"),
    ("user.active", "有効", "Active"),
    ("user.created", "ユーザーを作成しました", "User created"),
    ("role.admin", "管理者", "Administrator"),
    ("role.analyst", "アナリスト", "Analyst"),
    ("role.member", "メンバー", "Member"),
    ("role.auditor", "監査者", "Auditor"),
    ("group.title", "共有グループ", "Sharing groups"),
    ("group.create", "グループを作成", "Create group"),
    ("group.name", "グループ名", "Group name"),
    ("group.description", "説明", "Description"),
    ("group.owner", "運営組織", "Run by"),
    ("group.members", "メンバー組織", "Member organisations"),
    ("group.add_member", "メンバーを追加", "Add member"),
    ("group.created", "グループを作成しました", "Group created"),
    ("group.updated", "グループを更新しました", "Group updated"),
    ("token.title", "APIトークン", "API tokens"),
    ("token.create", "トークンを発行", "Create token"),
    ("token.name", "名前", "Name"),
    ("token.scopes", "スコープ", "Scopes"),
    (
        "token.expires_days",
        "有効期間(日、空欄で無期限)",
        "Valid for (days, empty for no expiry)",
    ),
    (
        "token.secret_once",
        "このトークンは今だけ表示されます。安全な場所に保存してください。",
        "This token is shown now and never again. Store it safely.",
    ),
    ("token.revoke", "失効", "Revoke"),
    ("token.revoked", "失効済み", "Revoked"),
    ("token.live", "有効", "Live"),
    ("token.expires", "有効期限", "Expires"),
    ("token.last_used", "最終利用", "Last used"),
    ("token.never", "なし", "never"),
    ("audit.title", "監査ログ", "Audit log"),
    ("audit.verify", "チェーンを検証", "Verify chain"),
    (
        "audit.intact",
        "ハッシュチェーンは完全です",
        "The hash chain is intact",
    ),
    (
        "audit.broken",
        "ハッシュチェーンが壊れています",
        "The hash chain is broken",
    ),
    ("audit.at", "日時", "Time"),
    ("audit.actor", "実行者", "Actor"),
    ("audit.action", "操作", "Action"),
    ("audit.object", "対象", "Object"),
    ("audit.source", "送信元", "Source"),
    ("nav.reports", "共有レポート", "Reports"),
    ("nav.search", "値の検索", "Value search"),
    ("report.title", "共有レポート", "Reports"),
    ("report.create", "レポートを共有", "Share a report"),
    ("report.name", "件名", "Title"),
    ("report.description", "説明", "Description"),
    ("report.tlp", "TLP", "TLP"),
    ("report.group", "共有グループ", "Sharing group"),
    ("report.no_group", "なし(TLPに従う)", "none (TLP decides)"),
    (
        "report.anonymous",
        "匿名で共有する(受信者に組織名を伏せる)",
        "Share anonymously (hide our organisation from recipients)",
    ),
    ("report.confidence", "確度(0-100)", "Confidence (0-100)"),
    (
        "report.labels",
        "ラベル(空白区切り)",
        "Labels (space-separated)",
    ),
    (
        "report.techniques",
        "ATT&CK テクニック",
        "ATT&CK techniques",
    ),
    ("report.indicators", "インジケータ", "Indicators"),
    (
        "report.indicators_help",
        "1行に1つ。種別を省略すると自動判定(例: url hxxp://evil[.]example/a)",
        "One per line; the kind is guessed when omitted (e.g. url hxxp://evil[.]example/a)",
    ),
    ("report.observables", "観測値", "Observables"),
    ("report.author", "作成組織", "Author"),
    (
        "report.anonymous_author",
        "匿名の会員組織",
        "An anonymous member",
    ),
    ("report.created", "レポートを共有しました", "Report shared"),
    ("report.revoke", "取り消す", "Revoke"),
    ("report.revoked", "取り消し済み", "Revoked"),
    (
        "report.revoked_ok",
        "レポートを取り消しました",
        "Report revoked",
    ),
    ("report.correlations", "関連するレポート", "Related reports"),
    (
        "report.no_correlations",
        "関連するレポートはありません",
        "No related reports",
    ),
    ("report.notes", "ノート", "Notes"),
    ("report.note", "ノート", "Note"),
    ("report.no_notes", "ノートはありません", "No notes"),
    ("report.add_note", "ノートを追加", "Add note"),
    ("report.note_added", "ノートを追加しました", "Note added"),
    ("report.attachments", "添付ファイル", "Attachments"),
    (
        "report.no_attachments",
        "添付ファイルはありません",
        "No attachments",
    ),
    ("report.file", "ファイル", "File"),
    ("report.size", "サイズ（バイト）", "Size (bytes)"),
    ("report.kind", "種別", "Kind"),
    ("report.value", "値", "Value"),
    ("report.score", "スコア", "Score"),
    ("report.warnings", "警告リスト", "Warning lists"),
    (
        "report.stream_per_event",
        "イベント単位で照合",
        "matched per event",
    ),
    (
        "report.stream_cross",
        "複数イベントにわたり照合",
        "matched across events",
    ),
    ("report.stream_within", "以内", "within"),
    (
        "report.stream_invalid",
        "照合されません（パターンの形式が不正）",
        "not matched: not a valid pattern",
    ),
    (
        "report.stream_unmapped",
        "照合されません（イベントにないオブジェクト型）",
        "not matched: object types no event carries",
    ),
    (
        "report.stream_partly",
        "一部の分岐は照合されません",
        "some branches are not matched",
    ),
    ("report.sightings", "目撃", "Sightings"),
    ("report.modified", "更新日時", "Modified"),
    ("report.search", "検索", "Search"),
    (
        "report.none",
        "表示できるレポートはありません",
        "No reports you may see",
    ),
    ("search.title", "値の検索", "Value search"),
    (
        "search.placeholder",
        "IP、ドメイン、URL、ハッシュ、メールアドレス…",
        "IP, domain, URL, hash, e-mail address…",
    ),
    ("search.hits", "出現箇所", "Found in"),
    (
        "search.no_hits",
        "閲覧可能な範囲では見つかりません",
        "Not found in anything you may see",
    ),
    ("nav.mail", "メール解析", "Mail analysis"),
    ("mail.title", "不審メールの解析", "Suspicious mail analysis"),
    ("mail.upload", "メッセージ(.eml)", "Message (.eml)"),
    ("mail.analyze", "解析", "Analyse"),
    (
        "mail.help",
        "メールはハブ内で解析され、保存されません(監査ログに記録されます)。添付ファイルは実行されません。",
        "The message is analysed in the hub and not stored (the audit log records the analysis). Attachments are never executed.",
    ),
    ("mail.score", "危険度", "Risk score"),
    ("mail.signals", "判定理由", "Reasons"),
    ("mail.from", "差出人", "From"),
    ("mail.subject", "件名", "Subject"),
    ("mail.urls", "URL", "URLs"),
    ("mail.attachments", "添付ファイル", "Attachments"),
    (
        "mail.no_attachments",
        "添付ファイルはありません",
        "No attachments",
    ),
    ("mail.archive_files", "件のファイル", "files"),
    ("mail.encrypted", "パスワード付き", "encrypted"),
    (
        "mail.password_found",
        "本文中のパスワードで展開",
        "opened with the password from the text",
    ),
    ("mail.not_opened", "展開できず", "not opened"),
    (
        "mail.attached_message",
        "添付されたメール",
        "attached message",
    ),
    (
        "mail.passwords_tried",
        "件のパスワード候補を試行",
        "candidate passwords tried",
    ),
    ("mail.file_type", "種類", "Type"),
    ("mail.notes", "所見", "Notes"),
    (
        "mail.matches",
        "共有情報との一致",
        "Matches with shared information",
    ),
    (
        "mail.no_matches",
        "閲覧可能な共有情報に一致はありません",
        "No match in shared information you may see",
    ),
    ("mail.language", "本文の言語", "Body language"),
    ("mail.analyses", "保存済みの解析", "Stored analyses"),
    ("mail.analysis", "メール解析結果", "Mail analysis"),
    (
        "mail.none",
        "閲覧できる解析はありません",
        "No analyses you may see",
    ),
    ("mail.stored_as", "保存しました:", "Stored as"),
    ("mail.seen", "送信日時", "Sent"),
    ("mail.submitted", "受付", "Submitted"),
    ("mail.campaign", "キャンペーン", "Campaign"),
    ("mail.campaigns", "キャンペーン", "Campaigns"),
    (
        "mail.campaigns_all",
        "1件だけのものも表示",
        "Include single-message campaigns",
    ),
    (
        "mail.campaigns_multi",
        "2件以上のものだけ表示",
        "Only campaigns of two or more",
    ),
    (
        "mail.no_campaigns",
        "閲覧できるキャンペーンはありません",
        "No campaigns you may see",
    ),
    ("mail.members", "メール数", "Messages"),
    ("mail.first_seen", "初観測", "First seen"),
    ("mail.last_seen", "最終観測", "Last seen"),
    ("mail.max_score", "最高危険度", "Highest score"),
    ("mail.timeline", "時系列", "Timeline"),
    ("mail.shared_features", "共通する特徴", "Shared features"),
    (
        "mail.targets",
        "宛先の会員組織 (宛先数)",
        "Member organisations addressed (recipients)",
    ),
    (
        "mail.no_targets",
        "会員組織宛てではありません",
        "No member organisation among the recipients",
    ),
    (
        "mail.no_shared",
        "閲覧できるメールの間に共通する特徴はありません",
        "No features shared among the messages you may see",
    ),
    ("mail.feature", "特徴", "Feature"),
    ("mail.value", "値", "Value"),
    ("mail.feature.ip", "送信元IP", "Sending IP"),
    ("mail.feature.mailer", "メーラー", "Mailer"),
    ("mail.feature.tz", "タイムゾーン", "Time zone"),
    ("mail.feature.charset", "文字コード", "Charset"),
    ("mail.feature.lang", "言語", "Language"),
    ("mail.feature.subject", "件名の型", "Subject template"),
    ("mail.feature.from", "差出人ドメイン", "From domain"),
    (
        "mail.feature.att",
        "添付ファイル名の型",
        "Attachment name template",
    ),
    (
        "mail.feature.tlsh",
        "添付ファイルの類似ハッシュ",
        "Attachment TLSH",
    ),
    ("mail.feature.host", "URLのホスト", "URL host"),
    ("mail.feature.other", "その他", "Other"),
    ("mail.samples", "検体", "Samples"),
    ("mail.role", "種類", "Kind"),
    ("mail.role.original", "元のメール", "Original message"),
    ("mail.role.attachment", "添付ファイル", "Attachment"),
    (
        "mail.role.archive_member",
        "アーカイブ内のファイル",
        "Archive member",
    ),
    ("mail.role.message", "添付されたメール", "Attached message"),
    ("mail.file_name", "ファイル名", "File name"),
    ("mail.size", "サイズ(バイト)", "Size (bytes)"),
    (
        "mail.samples_dropped",
        "保存上限を超えたため保存していないファイル",
        "Files not kept (sample limit reached)",
    ),
    (
        "mail.download",
        "検体をダウンロード(暗号化ZIP)",
        "Download samples (encrypted ZIP)",
    ),
    (
        "mail.download_help",
        "ZIPのパスワードは慣例どおり infected です。隔離された解析環境以外では開かないでください。ダウンロードは監査ログに記録されます。",
        "The ZIP password is the usual \"infected\". Open it only in an isolated analysis environment. Downloads are recorded in the audit log.",
    ),
    ("report.edit", "レポートを編集", "Edit report"),
    ("report.updated", "レポートを更新しました", "Report updated"),
    (
        "mail.share",
        "このメールの指標を共有",
        "Share this mail's indicators",
    ),
    (
        "mail.share_help",
        "差出人ドメイン、URL、添付ファイルのハッシュをレポートとして共有します。",
        "Shares the sender domain, URLs and attachment hashes as a report.",
    ),
    ("nav.cases", "インシデント", "Cases"),
    ("case.title", "インシデント対応", "Incident cases"),
    ("case.create", "インシデントを起票", "Open a case"),
    ("case.name", "件名", "Title"),
    ("case.severity", "深刻度", "Severity"),
    ("case.playbook", "プレイブック", "Playbook"),
    ("case.no_playbook", "なし", "none"),
    ("case.status", "状態", "Status"),
    (
        "case.participants",
        "参加組織",
        "Participating organisations",
    ),
    ("case.tasks", "タスク", "Tasks"),
    ("case.due", "期限", "Due"),
    ("case.timeline", "タイムライン", "Timeline"),
    ("case.add_entry", "記録を追加", "Add entry"),
    ("case.set_status", "状態を変更", "Change status"),
    (
        "case.resolution",
        "解決内容(クローズ時必須)",
        "Resolution (required to close)",
    ),
    ("case.created", "インシデントを起票しました", "Case opened"),
    ("case.updated", "インシデントを更新しました", "Case updated"),
    (
        "case.none",
        "参加しているインシデントはありません",
        "No cases your organisation takes part in",
    ),
    ("case.sla", "SLA(対応期限)", "SLA"),
    ("case.sla_ack", "受付期限", "Time to acknowledge"),
    ("case.sla_contain", "封じ込め期限", "Time to contain"),
    ("case.overdue", "期限超過", "Overdue"),
    (
        "case.observables",
        "観測値・指標",
        "Observables and indicators",
    ),
    ("case.add_observable", "観測値を追加", "Add observable"),
    ("case.assignee", "担当者", "Assignee"),
    ("case.assign", "割り当て", "Assign"),
    ("case.requests", "調整依頼", "Coordination requests"),
    (
        "case.new_request",
        "調整依頼を送る",
        "Send a coordination request",
    ),
    ("case.request_to", "依頼先", "To"),
    ("case.request_kind", "種別", "Kind"),
    ("case.request_body", "依頼内容", "Details"),
    ("case.request_due", "期限(UTC)", "Due (UTC)"),
    ("case.request_sent", "調整依頼を送りました", "Request sent"),
    ("case.reply", "返信", "Reply"),
    ("case.thread", "やりとり", "Thread"),
    ("case.evidence", "証拠物", "Evidence"),
    ("case.file", "ファイル", "File"),
    ("case.upload", "証拠物を登録", "Upload evidence"),
    ("case.description", "説明", "Description"),
    ("case.custody", "保管の連鎖", "Chain of custody"),
    ("case.download", "ダウンロード", "Download"),
    ("case.lessons", "教訓(再発防止に向けて)", "Lessons learned"),
    ("case.report", "事後報告書", "After-action report"),
    (
        "case.import_hunt",
        "mamori hunt の結果 (JSONL/CSV)",
        "mamori hunt output (JSONL/CSV)",
    ),
    ("case.import", "取り込む", "Import"),
    ("case.all_sources", "すべての出所", "All sources"),
    ("metrics.title", "対応状況の指標", "Response metrics"),
    (
        "metrics.help",
        "起票から受付・封じ込め・クローズまでの時間(中央値、分)。参加しているインシデントが対象です。",
        "Median minutes from opening to acknowledgement, containment and closure, over the cases you take part in.",
    ),
    ("metrics.by_org", "組織別", "By organisation"),
    ("metrics.by_type", "インシデント種別別", "By incident type"),
    ("metrics.close", "クローズまで", "Time to close"),
    ("metrics.cases", "件数", "Cases"),
    (
        "case.share_observables",
        "観測値をレポートとして共有",
        "Share the observables as a report",
    ),
    (
        "case.shared",
        "レポートとして共有しました",
        "Shared as a report",
    ),
    (
        "case.from_mail",
        "不審メールからインシデントを起票",
        "Open a case from a suspicious mail",
    ),
    (
        "case.report_incident",
        "インシデントを報告",
        "Report an incident",
    ),
    (
        "case.report_help",
        "ハブ運営組織に報告します。貴組織は被害組織として参加します。",
        "Goes to the hub operator; your organisation takes part as the victim.",
    ),
    ("aar.title", "インシデント事後報告書", "After-action report"),
    ("aar.generated", "作成日時", "Generated"),
    ("aar.summary", "概要", "Summary"),
    ("aar.owner", "主管組織", "Owner organisation"),
    ("aar.opened", "起票", "Opened"),
    ("aar.description", "説明", "Description"),
    ("aar.reached", "達成", "Reached"),
    ("aar.elapsed", "所要時間", "Elapsed"),
    ("aar.org", "組織", "Organisation"),
    ("aar.role", "役割", "Role"),
    ("aar.when", "日時", "When"),
    ("aar.source", "出所", "Source"),
    ("aar.what", "内容", "What"),
    ("aar.kind", "種別", "Kind"),
    ("aar.value", "値", "Value"),
    ("aar.note", "備考", "Note"),
    ("aar.request", "依頼", "Request"),
    ("aar.from_to", "依頼元 → 依頼先", "From → to"),
    ("aar.size", "サイズ(バイト)", "Size (bytes)"),
    ("aar.added", "登録", "Added"),
    ("aar.none", "なし", "None"),
    ("playbook.title", "プレイブックの編集", "Edit playbooks"),
    (
        "playbook.help",
        "1行に1タスク:「期限(時間) | タイトル」。保存すると、以後に起票するインシデントに使われます。",
        "One task per line: \"hours until due | title\". Saved playbooks apply to cases opened afterwards.",
    ),
    ("playbook.built_in", "標準", "built in"),
    ("playbook.edited", "編集済み", "edited by"),
    ("playbook.reset", "標準に戻す・削除", "Reset / remove"),
    ("playbook.new", "プレイブックを追加", "Add a playbook"),
    (
        "playbook.name",
        "名前(インシデント種別)",
        "Name (incident type)",
    ),
    (
        "playbook.saved",
        "プレイブックを保存しました",
        "Playbook saved",
    ),
    ("nav.alerts", "アラート", "Alerts"),
    ("nav.events", "イベント検索", "Events"),
    ("alert.title", "アラート", "Alerts"),
    ("alert.by_level", "重大度別", "By level"),
    ("alert.by_status", "対応状況別", "By status"),
    ("alert.any_status", "すべての状況", "Any status"),
    ("alert.any_level", "すべての重大度", "Any level"),
    ("alert.filter", "絞り込み", "Filter"),
    ("alert.level", "重大度", "Level"),
    ("alert.name", "検知内容", "Detection"),
    ("alert.host", "ホスト", "Host"),
    ("alert.count", "イベント数", "Events"),
    ("alert.last_seen", "最終検知", "Last seen"),
    ("alert.status", "対応状況", "Status"),
    ("alert.route", "振り分け", "Routed by"),
    ("alert.assignee", "担当者", "Assignee"),
    ("alert.case", "インシデント", "Case"),
    ("alert.triage", "トリアージ", "Triage"),
    ("alert.fp", "誤検知として抑止", "Mark false positive"),
    (
        "alert.fp_reason",
        "誤検知の理由",
        "Why it is a false positive",
    ),
    (
        "alert.fp_all_hosts",
        "全ホストで抑止",
        "Suppress on every host",
    ),
    ("alert.escalate", "インシデントに昇格", "Escalate to a case"),
    ("alert.evidence", "根拠イベント", "Evidence"),
    ("alert.none", "アラートはありません", "No alerts"),
    ("alert.updated", "アラートを更新しました", "Alert updated"),
    (
        "alert.suppressed",
        "誤検知として抑止しました",
        "Marked false positive; the rule is suppressed on this host",
    ),
    (
        "alert.escalated",
        "アラートからインシデントを起票しました",
        "Case opened from the alert",
    ),
    ("alert.status.new", "未対応", "New"),
    ("case.sev.critical", "緊急", "Critical"),
    ("case.sev.high", "高", "High"),
    ("case.sev.medium", "中", "Medium"),
    ("case.sev.low", "低", "Low"),
    ("case.st.new", "新規", "New"),
    ("case.st.triage", "トリアージ", "Triage"),
    ("case.st.containment", "封じ込め", "Containment"),
    ("case.st.eradication", "根絶", "Eradication"),
    ("case.st.recovery", "復旧", "Recovery"),
    ("case.st.closed", "完了", "Closed"),
    ("task.st.open", "未着手", "Open"),
    ("task.st.in-progress", "対応中", "In progress"),
    ("task.st.done", "完了", "Done"),
    ("task.st.skipped", "省略", "Skipped"),
    ("case.role.victim", "被害組織", "Victim"),
    ("case.role.coordinator", "調整機関", "Coordinator"),
    ("case.role.rescue-team", "支援チーム", "Rescue team"),
    ("case.role.external-csirt", "外部CSIRT", "External CSIRT"),
    ("case.role.expert", "専門家", "Expert"),
    ("alert.status.acknowledged", "確認済み", "Acknowledged"),
    ("alert.status.false_positive", "誤検知", "False positive"),
    ("alert.status.escalated", "昇格済み", "Escalated"),
    ("alert.status.closed", "完了", "Closed"),
    ("event.title", "イベント検索", "Event search"),
    ("event.text", "キーワード(部分一致)", "Text (substring)"),
    ("event.time", "時刻", "Time"),
    ("event.dataset", "種別", "Dataset"),
    ("event.summary", "内容", "Summary"),
    (
        "event.none",
        "該当するイベントはありません",
        "No events match",
    ),
    ("nav.sensors", "センサー", "Sensors"),
    ("nav.notices", "通知", "Notices"),
    ("nav.blocklists", "ブロックリスト", "Block lists"),
    (
        "blocklist.title",
        "ブロックリストのプロファイル",
        "Block-list profiles",
    ),
    (
        "blocklist.intro",
        "機器はプロファイル名を指定してブロックリストを取得します。プレビューはあなたの組織が閲覧できる指標だけから作られます。",
        "Devices poll block lists by profile name. The preview is built only from indicators your organisation may see.",
    ),
    ("blocklist.profile", "プロファイル", "Profile"),
    ("blocklist.save", "プロファイルを保存", "Save profile"),
    (
        "blocklist.saved",
        "プロファイルを保存しました",
        "Profile saved",
    ),
    ("blocklist.delete", "削除", "Delete"),
    (
        "blocklist.deleted",
        "プロファイルを削除しました",
        "Profile deleted",
    ),
    ("blocklist.description", "説明", "Description"),
    ("blocklist.max_tlp", "TLP上限", "TLP ceiling"),
    ("blocklist.min_score", "最低スコア", "Minimum score"),
    ("blocklist.kinds", "種別", "Kinds"),
    ("blocklist.all_kinds", "すべて", "all"),
    ("blocklist.allow", "除外数", "Allow-list"),
    ("blocklist.updated", "更新", "Updated"),
    ("blocklist.preview", "プレビュー", "Preview"),
    ("blocklist.total", "エントリ数", "Entries"),
    ("blocklist.kind", "種別", "Kind"),
    ("blocklist.entries", "件数", "Entries"),
    ("blocklist.format", "形式", "Format"),
    ("blocklist.url", "取得URL", "Polling URL"),
    (
        "blocklist.empty",
        "このプロファイルに該当するエントリはありません",
        "This profile selects no entries",
    ),
    (
        "blocklist.first",
        "各形式の先頭",
        "First entries of each format:",
    ),
    (
        "blocklist.polling",
        "機器は ETag を If-None-Match で送ると、変更がなければ 304 を受け取ります。",
        "Devices that send the ETag as If-None-Match get 304 until the list changes.",
    ),
    ("nav.yara", "YARAルール", "YARA rules"),
    ("yara.title", "YARAルールセット", "YARA rule sets"),
    (
        "yara.intro",
        "有効なルールセットは、ハブで解析するメールの本文・添付ファイル・アーカイブ内のファイル(パスワード付きの ZIP・7z を含む)すべてに適用されます。各ルールセットは同名の名前空間になります。",
        "Enabled rule sets scan every body part, attachment and archive member (encrypted ZIP and 7z archives included) of the mail the hub analyses. Each rule set is a namespace of its own name.",
    ),
    ("yara.name", "名前", "Name"),
    ("yara.description", "説明", "Description"),
    ("yara.rules", "ルール数", "Rules"),
    ("yara.state", "状態", "State"),
    ("yara.on", "有効", "enabled"),
    ("yara.off", "無効", "disabled"),
    ("yara.updated", "更新", "Updated"),
    ("yara.in_use", "使用中のルール", "Rules in use"),
    ("yara.sets", "ルールセット", "rule sets"),
    (
        "yara.compile_error",
        "有効なルールセットをまとめてコンパイルできませんでした(以前のルールを使用中)",
        "The enabled rule sets do not compile together (the previous rules stay in use)",
    ),
    ("yara.enable", "有効にする", "Enable"),
    ("yara.disable", "無効にする", "Disable"),
    ("yara.delete", "削除", "Delete"),
    ("yara.edit", "編集", "Edit"),
    ("yara.view", "ソース", "Source"),
    ("yara.new", "ルールセットを追加", "Add a rule set"),
    ("yara.replace", "ソースを置き換え", "Replace the source"),
    ("yara.source", "YARAソース", "YARA source"),
    ("yara.file", "または .yar ファイル", "or a .yar file"),
    ("yara.save", "コンパイルして保存", "Compile and save"),
    (
        "yara.empty",
        "ルールセットはまだありません",
        "No rule sets yet",
    ),
    (
        "yara.created",
        "ルールセットを追加しました",
        "Rule set added",
    ),
    (
        "yara.saved",
        "ルールセットを更新しました",
        "Rule set updated",
    ),
    (
        "yara.deleted",
        "ルールセットを削除しました",
        "Rule set deleted",
    ),
    (
        "yara.enabled_ok",
        "ルールセットを有効にしました",
        "Rule set enabled",
    ),
    (
        "yara.disabled_ok",
        "ルールセットを無効にしました",
        "Rule set disabled",
    ),
    ("mail.yara", "YARA 一致", "YARA matches"),
    (
        "mail.no_yara",
        "YARA ルールへの一致はありません",
        "No YARA rule matched",
    ),
    ("mail.yara_rule", "ルール", "Rule"),
    ("mail.yara_part", "一致した部分", "Part"),
    (
        "notice.title",
        "通知と未割当て項目",
        "Notices and unowned items",
    ),
    ("notice.by_status", "状態別の通知", "Notices by status"),
    ("notice.created", "作成", "Created"),
    ("notice.kind", "種類", "Kind"),
    ("notice.items", "件数", "Items"),
    ("notice.subject", "件名", "Subject"),
    ("notice.set", "変更", "Set"),
    (
        "notice.updated",
        "通知の状態を変更しました",
        "Notice status changed",
    ),
    ("notice.none", "通知はまだありません", "No notices yet"),
    ("notice.escalated", "エスカレーション", "escalated"),
    (
        "notice.review",
        "所有組織が見つからない項目",
        "Items no member owns",
    ),
    (
        "notice.review_empty",
        "確認待ちの項目はありません",
        "Nothing to review",
    ),
    ("notice.source", "フィード", "Feed"),
    (
        "notice.queue",
        "自組織の未対処項目",
        "Your organisation's open items",
    ),
    (
        "notice.queue_empty",
        "未対処の項目はありません",
        "No open items",
    ),
    ("notice.notified", "通知日時", "Notified"),
    ("notice.feeds", "フィードの収集状況", "Feed collectors"),
    ("notice.feed_name", "名前", "Name"),
    ("notice.location", "取得元", "Location"),
    ("notice.last_run", "最終実行", "Last run"),
    ("notice.error", "エラー", "Error"),
    (
        "notice.no_feeds",
        "収集設定はまだありません",
        "No collectors yet",
    ),
    ("notice.category", "分類", "Category"),
    ("notice.value", "値", "Value"),
    ("notice.channel", "経路", "Channel"),
    ("notice.channel.email", "メール", "E-mail"),
    ("notice.channel.webhook", "Webhook", "Webhook"),
    ("notice.kind.notice", "通知", "Notice"),
    ("notice.kind.reminder", "再通知", "Reminder"),
    ("notice.kind.takedown", "削除依頼", "Takedown request"),
    ("notice.status.queued", "送信待ち", "Queued"),
    ("notice.status.sent", "送信済み", "Sent"),
    ("notice.status.failed", "送信失敗", "Failed"),
    ("notice.status.bounced", "不達", "Bounced"),
    ("notice.status.acknowledged", "受領確認済み", "Acknowledged"),
    ("notice.status.remediated", "対処済み", "Remediated"),
    (
        "sensor.title",
        "センサーと取り込みエラー",
        "Sensors and rejected lines",
    ),
    ("sensor.health", "センサーの状態", "Sensor health"),
    ("sensor.name", "センサー", "Sensor"),
    ("sensor.org", "組織", "Organisation"),
    ("sensor.last_seen", "最終受信", "Last heard from"),
    ("sensor.active", "稼働中", "Active"),
    (
        "sensor.stale",
        "15分以上無通信",
        "Silent for 15 min or more",
    ),
    ("sensor.never", "未接続", "Never connected"),
    ("sensor.revoked", "失効", "Revoked"),
    (
        "sensor.none",
        "センサーは登録されていません",
        "No sensors registered",
    ),
    (
        "sensor.dead_letters",
        "取り込めなかった行",
        "Lines that could not be ingested",
    ),
    ("sensor.origin", "送信元", "Origin"),
    ("retro.title", "遡及ハント", "Retro-hunts"),
    (
        "retro.explain",
        "新しく共有された指標を、保存済みのイベント（遡及期間内）から探します。",
        "Newly shared indicators are searched for in the events stored within the look-back window.",
    ),
    ("retro.started", "開始", "Started"),
    ("retro.indicators", "指標", "Indicators"),
    ("retro.events", "読んだイベント", "Events read"),
    ("retro.alerts", "アラート", "Alerts"),
    ("retro.sightings", "観測", "Sightings"),
    ("retro.finished", "完了", "Finished"),
    ("retro.running", "実行中", "Running"),
    ("retro.blocks", "ブロック", "blocks"),
    (
        "retro.none",
        "遡及ハントはまだありません",
        "No retro-hunts yet",
    ),
    ("sensor.reason", "理由", "Reason"),
    ("sensor.line", "行", "Line"),
    (
        "sensor.no_dead_letters",
        "取り込みエラーはありません",
        "No rejected lines",
    ),
    ("common.save", "保存", "Save"),
    ("common.delete", "削除", "Delete"),
    ("common.created_at", "作成日時", "Created"),
    ("common.actions", "操作", "Actions"),
    ("common.none", "なし", "none"),
    ("common.error", "エラー", "Error"),
    (
        "common.forbidden",
        "この操作の権限がありません",
        "You may not do this",
    ),
    ("common.next", "次へ", "Next"),
    ("common.confirm_delete", "削除しますか?", "Delete this?"),
];

fn table() -> &'static HashMap<&'static str, (&'static str, &'static str)> {
    static TABLE: OnceLock<HashMap<&'static str, (&'static str, &'static str)>> = OnceLock::new();
    TABLE.get_or_init(|| {
        MESSAGES
            .iter()
            .map(|(k, ja, en)| (*k, (*ja, *en)))
            .collect()
    })
}

/// Translations for one language.
#[derive(Debug, Clone, Copy)]
pub struct Tr {
    pub lang: Lang,
}

impl Tr {
    /// The message for `key`; an unknown key shows itself so that gaps are visible.
    pub fn get<'a>(&self, key: &'a str) -> &'a str {
        match table().get(key) {
            Some((ja, en)) => match self.lang {
                Lang::Ja => ja,
                Lang::En => en,
            },
            None => key,
        }
    }

    /// A stored value (a status, a severity, a role) in the reader's language: the message
    /// `{prefix}.{value}`, or the value itself when there is none.
    pub fn value(&self, prefix: &str, value: &str) -> String {
        match table().get(format!("{prefix}.{value}").as_str()) {
            Some((ja, en)) => match self.lang {
                Lang::Ja => (*ja).to_owned(),
                Lang::En => (*en).to_owned(),
            },
            None => value.to_owned(),
        }
    }

    /// The language code for `<html lang>`.
    pub fn code(&self) -> &'static str {
        self.lang.as_str()
    }
}

/// The language for a request: the cookie, else Accept-Language, else Japanese.
pub fn choose(headers: &HeaderMap) -> Lang {
    let jar = CookieJar::from_headers(headers);
    if let Some(lang) = jar.get(LANG_COOKIE).and_then(|c| c.value().parse().ok()) {
        return lang;
    }
    headers
        .get(axum::http::header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .and_then(from_accept_language)
        .unwrap_or(Lang::Ja)
}

/// The supported language the browser prefers most (q-values respected).
pub fn from_accept_language(value: &str) -> Option<Lang> {
    let mut best: Option<(f32, Lang)> = None;
    for part in value.split(',').take(32) {
        let mut it = part.split(';');
        let tag = it.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = it
            .find_map(|p| p.trim().strip_prefix("q="))
            .and_then(|q| q.parse::<f32>().ok())
            .unwrap_or(1.0);
        let primary = tag.split('-').next().unwrap_or("");
        let lang = match primary {
            "ja" => Lang::Ja,
            "en" => Lang::En,
            _ => continue,
        };
        if q > 0.0 && best.is_none_or(|(bq, _)| q > bq) {
            best = Some((q, lang));
        }
    }
    best.map(|(_, l)| l)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language() {
        assert_eq!(
            from_accept_language("en-US,en;q=0.9,ja;q=0.8"),
            Some(Lang::En)
        );
        assert_eq!(from_accept_language("ja,en-US;q=0.7"), Some(Lang::Ja));
        assert_eq!(
            from_accept_language("fr-FR, ja;q=0.5, en;q=0.4"),
            Some(Lang::Ja)
        );
        assert_eq!(from_accept_language("de"), None);
        assert_eq!(from_accept_language("en;q=0"), None);
    }

    #[test]
    fn every_key_used_in_templates_exists_in_both_languages() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/templates");
        let mut used = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
            for piece in text.split("t.get(\"").skip(1) {
                let key = piece.split('"').next().unwrap();
                assert!(table().contains_key(key), "missing message {key}");
                used += 1;
            }
        }
        assert!(used > 50, "only {used} messages found in templates");
        for (k, ja, en) in MESSAGES {
            assert!(!ja.is_empty() && !en.is_empty(), "{k}");
        }
    }

    /// A key defined twice would show one text where the other was meant.
    #[test]
    fn every_key_is_defined_once() {
        let mut seen = std::collections::HashSet::new();
        for (k, _, _) in MESSAGES {
            assert!(seen.insert(*k), "message {k} is defined twice");
        }
    }
}
