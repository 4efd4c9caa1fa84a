//! Logsource routing and field mapping.
//!
//! * [`Route`]: which events a rule's `logsource` fits (Windows channel + EventID
//!   conventions as used by Hayabusa/Chainsaw: e.g. `process_creation` is Sysmon 1 or
//!   Security 4688; `service: security` is the `Security` channel).
//! * [`FieldMapping`]: aliases added to each event before scanning (built-in Windows 4688 and
//!   ECS/winlogbeat names, plus a user YAML file of `SigmaField: [source, ...]`).

use std::collections::HashMap;

use crate::event::EventView;
use crate::sigma::yaml::{Value, parse_documents};

const SYSMON: &str = "microsoft-windows-sysmon/operational";
const SECURITY: &str = "security";
const PS_OP: &str = "microsoft-windows-powershell/operational";
const PS_CORE: &str = "powershellcore/operational";
const PS_CLASSIC: &str = "windows powershell";

/// The events a rule applies to.
#[derive(Debug, Clone, PartialEq)]
pub enum Route {
    /// Windows events of these channels (lowercased), optionally only these EventIDs.
    Channels(Vec<(String, Option<Vec<u32>>)>),
    /// Any Windows event (product windows, but the logsource gives no channel).
    AnyWindows,
    /// Only events that are not Windows event-log records (no `Channel`).
    NonWindows,
}

fn ch(c: &str, ids: &[u32]) -> (String, Option<Vec<u32>>) {
    (
        c.to_owned(),
        if ids.is_empty() {
            None
        } else {
            Some(ids.to_vec())
        },
    )
}

fn category_route(cat: &str) -> Option<Vec<(String, Option<Vec<u32>>)>> {
    let s = |ids: &[u32]| vec![ch(SYSMON, ids)];
    Some(match cat {
        "process_creation" => vec![ch(SYSMON, &[1]), ch(SECURITY, &[4688])],
        "file_change" => s(&[2]),
        "network_connection" => vec![ch(SYSMON, &[3]), ch(SECURITY, &[5156])],
        "sysmon_status" => s(&[4, 16]),
        "process_termination" => vec![ch(SYSMON, &[5]), ch(SECURITY, &[4689])],
        "driver_load" => s(&[6]),
        "image_load" => s(&[7]),
        "create_remote_thread" => s(&[8]),
        "raw_access_thread" | "raw_access_read" => s(&[9]),
        "process_access" => s(&[10]),
        "file_event" => s(&[11]),
        "registry_add" | "registry_delete" => s(&[12]),
        "registry_set" => s(&[13]),
        "registry_rename" => s(&[14]),
        "registry_event" => s(&[12, 13, 14]),
        "create_stream_hash" => s(&[15]),
        "pipe_created" => s(&[17, 18]),
        "wmi_event" => s(&[19, 20, 21]),
        "dns_query" => vec![
            ch(SYSMON, &[22]),
            ch("microsoft-windows-dns-client/operational", &[3008]),
        ],
        "file_delete" => s(&[23, 26]),
        "clipboard_change" => s(&[24]),
        "process_tampering" => s(&[25]),
        "file_delete_detected" => s(&[26]),
        "file_block_executable" => s(&[27]),
        "file_block_shredding" => s(&[28]),
        "file_executable_detected" => s(&[29]),
        "sysmon_error" => s(&[255]),
        "ps_module" => vec![ch(PS_OP, &[4103]), ch(PS_CORE, &[4103])],
        "ps_script" => vec![ch(PS_OP, &[4104]), ch(PS_CORE, &[4104])],
        "ps_classic_start" => vec![ch(PS_CLASSIC, &[400])],
        "ps_classic_provider_start" => vec![ch(PS_CLASSIC, &[600])],
        "ps_classic_script" => vec![ch(PS_CLASSIC, &[800])],
        "file_access" => vec![ch("microsoft-windows-kernel-file/analytic", &[])],
        "file_rename" => vec![ch("microsoft-windows-kernel-file/analytic", &[])],
        _ => return None,
    })
}

fn service_channels(svc: &str) -> Option<Vec<&'static str>> {
    Some(match svc {
        "security" => vec!["security"],
        "system" => vec!["system"],
        "application" => vec!["application"],
        "sysmon" => vec![SYSMON],
        "powershell" => vec![PS_OP, PS_CORE],
        "powershell-classic" => vec![PS_CLASSIC],
        "taskscheduler" => vec!["microsoft-windows-taskscheduler/operational"],
        "wmi" => vec!["microsoft-windows-wmi-activity/operational"],
        "windefend" => vec!["microsoft-windows-windows defender/operational"],
        "bits-client" => vec!["microsoft-windows-bits-client/operational"],
        "applocker" => vec![
            "microsoft-windows-applocker/msi and script",
            "microsoft-windows-applocker/exe and dll",
            "microsoft-windows-applocker/packaged app-deployment",
            "microsoft-windows-applocker/packaged app-execution",
        ],
        "firewall-as" => vec!["microsoft-windows-windows firewall with advanced security/firewall"],
        "codeintegrity-operational" => vec!["microsoft-windows-codeintegrity/operational"],
        "dns-server" => vec!["dns server"],
        "dns-server-analytic" => vec!["microsoft-windows-dns-server/analytical"],
        "dns-server-audit" => vec!["microsoft-windows-dns-server/audit"],
        "dns-client" => vec!["microsoft-windows-dns-client/operational"],
        "dhcp" => vec!["microsoft-windows-dhcp-server/operational"],
        "microsoft-servicebus-client" => vec!["microsoft-servicebus-client"],
        "smbserver-connectivity" => vec!["microsoft-windows-smbserver/connectivity"],
        "driver-framework" => vec!["microsoft-windows-driverframeworks-usermode/operational"],
        "ntlm" => vec!["microsoft-windows-ntlm/operational"],
        "msexchange-management" => vec!["msexchange management"],
        "printservice-admin" => vec!["microsoft-windows-printservice/admin"],
        "printservice-operational" => vec!["microsoft-windows-printservice/operational"],
        "smbclient-security" => vec!["microsoft-windows-smbclient/security"],
        "smbclient-connectivity" => vec!["microsoft-windows-smbclient/connectivity"],
        "terminalservices-localsessionmanager" => {
            vec!["microsoft-windows-terminalservices-localsessionmanager/operational"]
        }
        "openssh" => vec!["openssh/operational"],
        "diagnosis-scripted" => vec!["microsoft-windows-diagnosis-scripted/operational"],
        "shell-core" => vec!["microsoft-windows-shell-core/operational"],
        "ldap_debug" | "ldap" => vec!["microsoft-windows-ldap-client/debug"],
        "appxdeployment-server" => vec!["microsoft-windows-appxdeploymentserver/operational"],
        "lsa-server" => vec!["microsoft-windows-lsa/operational"],
        "appmodel-runtime" => vec!["microsoft-windows-appmodel-runtime/admin"],
        "capi2" => vec!["microsoft-windows-capi2/operational"],
        "kernel-shimengine" => vec![
            "microsoft-windows-kernel-shimengine/operational",
            "microsoft-windows-kernel-shimengine/diagnostic",
        ],
        "sysmon-operational" => vec![SYSMON],
        "certificateservicesclient-lifecycle-system" => {
            vec!["microsoft-windows-certificateservicesclient-lifecycle-system/operational"]
        }
        "hyper-v-worker" => vec!["microsoft-windows-hyper-v-worker-admin"],
        "vhdmp" => vec!["microsoft-windows-vhdmp-operational"],
        "appxpackaging-om" => vec!["microsoft-windows-appxpackaging/operational"],
        "application-experience" => vec![
            "microsoft-windows-application-experience/program-telemetry",
            "microsoft-windows-application-experience/program-compatibility-assistant",
        ],
        "security-mitigations" => vec![
            "microsoft-windows-security-mitigations/kernel mode",
            "microsoft-windows-security-mitigations/user mode",
        ],
        "iis-configuration" => vec![
            "microsoft-iis-configuration/operational",
            "microsoft-iis-configuration/administrative",
        ],
        "bitlocker" => vec!["microsoft-windows-bitlocker/bitlocker management"],
        "rdp" | "terminalservices-remoteconnectionmanager" => {
            vec!["microsoft-windows-terminalservices-remoteconnectionmanager/operational"]
        }
        _ => return None,
    })
}

/// Computes the route of a logsource (all lowercase inputs).
pub fn route_for(product: Option<&str>, category: Option<&str>, service: Option<&str>) -> Route {
    let windows = product.is_none_or(|p| p == "windows");
    if !windows {
        return Route::NonWindows;
    }
    if product.is_none() && category.is_none() && service.is_none() {
        return Route::AnyWindows;
    }
    let mut routes: Option<Vec<(String, Option<Vec<u32>>)>> = None;
    if let Some(svc) = service
        && let Some(chs) = service_channels(svc)
    {
        routes = Some(chs.into_iter().map(|c| ch(c, &[])).collect());
    }
    if let Some(cat) = category
        && let Some(cr) = category_route(cat)
    {
        routes = Some(match routes {
            // service + category: keep the category's EventIDs on the service's channels.
            Some(svc) => {
                let inter: Vec<_> = cr
                    .iter()
                    .filter(|(c, _)| svc.iter().any(|(s, _)| s == c))
                    .cloned()
                    .collect();
                if inter.is_empty() { svc } else { inter }
            }
            None => cr,
        });
    }
    match routes {
        Some(r) => Route::Channels(r),
        None if product.is_none() => Route::NonWindows,
        None => Route::AnyWindows,
    }
}

/// Field aliases applied to events: Sigma name -> source field names (first present wins).
#[derive(Debug, Clone, Default)]
pub struct FieldMapping {
    /// (Sigma name, its lower case, the source names in lower case): lower-cased once here,
    /// not per event.
    aliases: Vec<(String, String, Vec<String>)>,
}

fn alias_entry(sigma: &str, sources: &[String]) -> (String, String, Vec<String>) {
    (
        sigma.to_owned(),
        sigma.to_lowercase(),
        sources.iter().map(|s| s.to_lowercase()).collect(),
    )
}

impl FieldMapping {
    /// The built-in mapping (Windows Security 4688/4689 fields and ECS/winlogbeat names).
    pub fn builtin() -> Self {
        let pairs: &[(&str, &[&str])] = &[
            ("CommandLine", &["process.command_line"]),
            ("Image", &["NewProcessName", "process.executable"]),
            (
                "ParentImage",
                &["ParentProcessName", "process.parent.executable"],
            ),
            ("ParentCommandLine", &["process.parent.command_line"]),
            ("ProcessId", &["NewProcessId", "process.pid"]),
            ("ParentProcessId", &["process.parent.pid"]),
            ("User", &["user.name"]),
            ("CurrentDirectory", &["process.working_directory"]),
            ("OriginalFileName", &["process.pe.original_file_name"]),
            ("Hashes", &["process.hash.sha256"]),
            ("TargetFilename", &["file.path"]),
            ("TargetObject", &["registry.path"]),
            ("Details", &["registry.data.strings"]),
            ("DestinationIp", &["destination.ip"]),
            ("DestinationPort", &["destination.port"]),
            ("DestinationHostname", &["destination.domain"]),
            ("SourceIp", &["source.ip"]),
            ("SourcePort", &["source.port"]),
            ("QueryName", &["dns.question.name"]),
            ("ImageLoaded", &["dll.path"]),
            ("Computer", &["host.name", "host.hostname"]),
        ];
        FieldMapping {
            aliases: pairs
                .iter()
                .map(|(k, v)| {
                    let srcs: Vec<String> = v.iter().map(|s| (*s).to_owned()).collect();
                    alias_entry(k, &srcs)
                })
                .collect(),
        }
    }

    /// Adds the mappings of a user YAML file: `fieldmappings: {Sigma: source | [sources]}`
    /// (or the same map at top level).
    pub fn merge_yaml(&mut self, text: &str) -> Result<(), String> {
        let docs = parse_documents(text).map_err(|e| format!("line {}: {}", e.line, e.message))?;
        for d in docs {
            let map = d.get("fieldmappings").unwrap_or(&d);
            let Value::Map(entries) = &map.value else {
                return Err(format!(
                    "line {}: expected a map of field mappings",
                    map.line
                ));
            };
            for (k, v) in entries {
                let srcs = v.string_list();
                if srcs.is_empty() {
                    return Err(format!("line {}: '{k}' maps to nothing", v.line));
                }
                self.aliases.insert(0, alias_entry(k, &srcs));
            }
        }
        Ok(())
    }

    /// Adds aliases to an event (existing fields are never overwritten).
    pub fn apply(&self, ev: &mut EventView) {
        // Most names looked up are absent; the summary of the names present rules nearly all
        // of them out without a hash lookup.
        let mut present = ev.name_bits();
        let has = |ev: &EventView, present: u64, name: &str| {
            present & EventView::name_bit(name) != 0 && ev.has_lower(name)
        };
        for (sigma, lower, sources) in &self.aliases {
            if has(ev, present, lower) {
                continue;
            }
            if let Some(src) = sources.iter().find(|s| has(ev, present, s)) {
                ev.alias_lower(sigma, lower, src);
                present |= EventView::name_bit(lower);
            }
        }
    }
}

/// Cheap per-event routing key.
pub fn event_key(ev: &EventView) -> (Option<&str>, Option<u32>) {
    (ev.channel.as_deref(), ev.event_id)
}

/// Index from (channel, EventID) to rule indices, built once per ruleset.
#[derive(Debug, Default, Clone)]
pub struct Router {
    by_channel_id: HashMap<String, HashMap<u32, Vec<usize>>>,
    by_channel: HashMap<String, Vec<usize>>,
    any_windows: Vec<usize>,
    non_windows: Vec<usize>,
}

impl Router {
    /// Builds the index.
    pub fn new<'a>(routes: impl Iterator<Item = &'a Route>) -> Self {
        let mut r = Router::default();
        for (i, route) in routes.enumerate() {
            match route {
                Route::AnyWindows => r.any_windows.push(i),
                Route::NonWindows => r.non_windows.push(i),
                Route::Channels(chs) => {
                    for (c, ids) in chs {
                        match ids {
                            None => r.by_channel.entry(c.clone()).or_default().push(i),
                            Some(ids) => {
                                let m = r.by_channel_id.entry(c.clone()).or_default();
                                for id in ids {
                                    m.entry(*id).or_default().push(i);
                                }
                            }
                        }
                    }
                }
            }
        }
        r
    }

    /// Calls `f` for each candidate rule of an event.
    pub fn for_each(&self, ev: &EventView, mut f: impl FnMut(usize) -> bool) {
        let lists: [&[usize]; 3] = match event_key(ev) {
            (Some(c), id) => {
                let by_id = id
                    .and_then(|id| self.by_channel_id.get(c).and_then(|m| m.get(&id)))
                    .map_or(&[][..], Vec::as_slice);
                let by_ch = self.by_channel.get(c).map_or(&[][..], Vec::as_slice);
                [by_id, by_ch, &self.any_windows]
            }
            (None, _) => [&self.non_windows, &self.any_windows, &[]],
        };
        for l in lists {
            for &i in l {
                if !f(i) {
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// [`FieldMapping::apply`] as first written: every name looked up.
    fn reference_apply(m: &FieldMapping, ev: &mut EventView) {
        for (sigma, lower, sources) in &m.aliases {
            if ev.has_lower(lower) {
                continue;
            }
            if let Some(src) = sources.iter().find(|s| ev.has_lower(s)) {
                ev.alias_lower(sigma, lower, src);
            }
        }
    }

    proptest::proptest! {
        /// The name summary only skips lookups that would miss: the same aliases are added,
        /// with the same values, including an alias whose source is an alias added before.
        #[test]
        fn aliases_are_added_as_by_lookups(picks in proptest::collection::vec(0usize..40, 0..20)) {
            let mut m = FieldMapping::builtin();
            m.merge_yaml("fieldmappings:\n  TargetHost: Computer\n  Who: [User, SubjectUserName]\n")
                .unwrap();
            // User mappings go first; put one after the built-ins so it reads an alias.
            let first = m.aliases.remove(0);
            m.aliases.push(first);
            let names: Vec<String> = m
                .aliases
                .iter()
                .flat_map(|(s, _, srcs)| std::iter::once(s.clone()).chain(srcs.iter().cloned()))
                .chain(["Channel".into(), "EventID".into(), "x".into()])
                .collect();
            let mut ev = EventView::new();
            for (i, p) in picks.iter().enumerate() {
                ev.push_str(&names[p % names.len()], &format!("v{i}"));
            }
            let mut want = ev.clone();
            reference_apply(&m, &mut want);
            m.apply(&mut ev);
            let all = |e: &EventView| -> Vec<(String, String)> {
                e.iter().map(|(k, v)| (k.to_owned(), v.raw.to_string())).collect()
            };
            proptest::prop_assert_eq!(all(&ev), all(&want));
        }
    }

    #[test]
    fn routes() {
        assert_eq!(
            route_for(Some("windows"), Some("process_creation"), None),
            Route::Channels(vec![ch(SYSMON, &[1]), ch(SECURITY, &[4688])])
        );
        assert_eq!(
            route_for(Some("windows"), None, Some("security")),
            Route::Channels(vec![ch("security", &[])])
        );
        assert_eq!(
            route_for(Some("linux"), Some("process_creation"), None),
            Route::NonWindows
        );
        assert_eq!(
            route_for(Some("windows"), Some("weird"), None),
            Route::AnyWindows
        );
    }

    #[test]
    fn user_mapping() {
        let mut m = FieldMapping::default();
        m.merge_yaml("fieldmappings:\n  Image: exe_path\n").unwrap();
        let mut ev = EventView::new();
        ev.push_str("exe_path", "C:\\a.exe");
        m.apply(&mut ev);
        assert_eq!(ev.first("image"), Some("C:\\a.exe"));
        assert!(m.merge_yaml("fieldmappings: [1]").is_err());
    }
}
