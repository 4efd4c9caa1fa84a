//! Typed, borrowed views of the object types Mamori uses. A view is a cheap wrapper around a
//! [`StixObject`] of the right type with accessors for its type-specific properties; absent or
//! ill-typed properties read as `None` / empty. Build objects with [`StixObject::new_sdo`] and
//! [`StixObject::with`]; read them with [`StixObject::view`] or the `as_*` methods.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::common::KillChainPhase;
use crate::{StixId, StixObject, Timestamp};

macro_rules! views {
    ($( $(#[$doc:meta])* $name:ident, $as:ident, $ty:literal {
        $( str $s:ident ; )*
        $( ts $t:ident ; )*
        $( strs $ss:ident ; )*
        $( rf $r:ident ; )*
        $( rfs $rs:ident ; )*
        $( int $i:ident ; )*
        $( bool $b:ident ; )*
    } )*) => {
        $(
            $(#[$doc])*
            #[derive(Debug, Clone, Copy)]
            pub struct $name<'a>(pub &'a StixObject);

            impl<'a> $name<'a> {
                /// The STIX type this view reads.
                pub const TYPE: &'static str = $ty;
                /// The underlying object.
                pub fn object(&self) -> &'a StixObject { self.0 }
                $( pub fn $s(&self) -> Option<&'a str> { self.0.str_prop(stringify!($s)) } )*
                $( pub fn $t(&self) -> Option<Timestamp> { self.0.timestamp_prop(stringify!($t)) } )*
                $( pub fn $ss(&self) -> Vec<&'a str> { self.0.strs_prop(stringify!($ss)) } )*
                $( pub fn $r(&self) -> Option<StixId> { self.0.ref_prop(stringify!($r)) } )*
                $( pub fn $rs(&self) -> Vec<StixId> { self.0.refs_prop(stringify!($rs)) } )*
                $( pub fn $i(&self) -> Option<i64> {
                    self.0.properties.get(stringify!($i)).and_then(Value::as_i64)
                } )*
                $( pub fn $b(&self) -> Option<bool> {
                    self.0.properties.get(stringify!($b)).and_then(Value::as_bool)
                } )*
            }

            impl StixObject {
                #[doc = concat!("This object as a `", $ty, "`, if it is one.")]
                pub fn $as(&self) -> Option<$name<'_>> {
                    (self.object_type == $ty).then_some($name(self))
                }
            }
        )*

        /// A typed view of any object; [`View::Other`] for types without a view.
        #[derive(Debug, Clone, Copy)]
        #[non_exhaustive]
        pub enum View<'a> {
            $( $name($name<'a>), )*
            Other(&'a StixObject),
        }

        impl StixObject {
            /// The typed view matching this object's type.
            pub fn view(&self) -> View<'_> {
                match self.object_type.as_str() {
                    $( $ty => View::$name($name(self)), )*
                    _ => View::Other(self),
                }
            }
        }
    };
}

views! {
    /// `indicator`: a pattern that detects something.
    Indicator, as_indicator, "indicator" {
        str name; str description; str pattern; str pattern_type; str pattern_version;
        ts valid_from; ts valid_until;
        strs indicator_types;
    }
    /// `observed-data`: raw observations over a period.
    ObservedData, as_observed_data, "observed-data" {
        ts first_observed; ts last_observed;
        rfs object_refs;
        int number_observed;
    }
    /// `report`: a collection of threat intelligence about a topic.
    Report, as_report, "report" {
        str name; str description;
        ts published;
        strs report_types;
        rfs object_refs;
    }
    /// `identity`: an individual, organisation or group.
    Identity, as_identity, "identity" {
        str name; str description; str identity_class; str contact_information;
        strs roles; strs sectors;
    }
    /// `marking-definition`: a data marking (TLP, statement, …).
    MarkingDefinition, as_marking_definition, "marking-definition" {
        str name; str definition_type;
    }
    /// `sighting`: something was seen.
    Sighting, as_sighting, "sighting" {
        str description;
        ts first_seen; ts last_seen;
        rf sighting_of_ref;
        rfs observed_data_refs; rfs where_sighted_refs;
        int count;
        bool summary;
    }
    /// `relationship`: a typed link between two objects.
    Relationship, as_relationship, "relationship" {
        str relationship_type; str description;
        ts start_time; ts stop_time;
        rf source_ref; rf target_ref;
    }
    /// `malware`.
    Malware, as_malware, "malware" {
        str name; str description;
        ts first_seen; ts last_seen;
        strs malware_types; strs aliases;
        bool is_family;
    }
    /// `tool`.
    Tool, as_tool, "tool" {
        str name; str description; str tool_version;
        strs tool_types; strs aliases;
    }
    /// `attack-pattern`.
    AttackPattern, as_attack_pattern, "attack-pattern" {
        str name; str description;
        strs aliases;
    }
    /// `campaign`.
    Campaign, as_campaign, "campaign" {
        str name; str description; str objective;
        ts first_seen; ts last_seen;
        strs aliases;
    }
    /// `intrusion-set`.
    IntrusionSet, as_intrusion_set, "intrusion-set" {
        str name; str description; str resource_level; str primary_motivation;
        ts first_seen; ts last_seen;
        strs aliases; strs goals;
    }
    /// `threat-actor`.
    ThreatActor, as_threat_actor, "threat-actor" {
        str name; str description; str sophistication; str resource_level; str primary_motivation;
        ts first_seen; ts last_seen;
        strs threat_actor_types; strs aliases; strs roles; strs goals;
    }
    /// `vulnerability`.
    Vulnerability, as_vulnerability, "vulnerability" {
        str name; str description;
    }
    /// `course-of-action`.
    CourseOfAction, as_course_of_action, "course-of-action" {
        str name; str description;
    }
    /// `note`.
    Note, as_note, "note" {
        str content;
        strs authors;
        rfs object_refs;
    }
    /// `ipv4-addr`.
    Ipv4Addr, as_ipv4_addr, "ipv4-addr" {
        str value;
        rfs resolves_to_refs; rfs belongs_to_refs;
    }
    /// `ipv6-addr`.
    Ipv6Addr, as_ipv6_addr, "ipv6-addr" {
        str value;
        rfs resolves_to_refs; rfs belongs_to_refs;
    }
    /// `domain-name`.
    DomainName, as_domain_name, "domain-name" {
        str value;
        rfs resolves_to_refs;
    }
    /// `url`.
    Url, as_url, "url" {
        str value;
    }
    /// `email-addr`.
    EmailAddr, as_email_addr, "email-addr" {
        str value; str display_name;
        rf belongs_to_ref;
    }
    /// `email-message`.
    EmailMessage, as_email_message, "email-message" {
        str subject; str message_id; str content_type; str body;
        ts date;
        rf from_ref; rf sender_ref;
        rfs to_refs; rfs cc_refs; rfs bcc_refs;
        bool is_multipart;
    }
    /// `file`.
    File, as_file, "file" {
        str name; str name_enc; str mime_type; str magic_number_hex;
        ts ctime; ts mtime; ts atime;
        rf parent_directory_ref; rf content_ref;
        rfs contains_refs;
        int size;
    }
    /// `mutex`.
    Mutex, as_mutex, "mutex" {
        str name;
    }
    /// `windows-registry-key`.
    WindowsRegistryKey, as_windows_registry_key, "windows-registry-key" {
        str key;
        ts modified_time;
        rf creator_user_ref;
        int number_of_subkeys;
    }
    /// `user-account`.
    UserAccount, as_user_account, "user-account" {
        str user_id; str account_login; str account_type; str display_name;
        bool is_privileged;
    }
    /// `autonomous-system`.
    AutonomousSystem, as_autonomous_system, "autonomous-system" {
        str name; str rir;
        int number;
    }
    /// `network-traffic`.
    NetworkTraffic, as_network_traffic, "network-traffic" {
        ts start; ts end;
        strs protocols;
        rf src_ref; rf dst_ref;
        int src_port; int dst_port; int src_byte_count; int dst_byte_count;
        bool is_active;
    }
}

impl Indicator<'_> {
    /// The kill-chain phases (malformed entries skipped).
    pub fn kill_chain_phases(&self) -> Vec<KillChainPhase> {
        kill_chain_phases(self.0)
    }

    /// The pattern parsed, when `pattern_type` is `stix`.
    pub fn parsed_pattern(
        &self,
    ) -> Option<Result<crate::pattern::Pattern, crate::pattern::PatternError>> {
        (self.pattern_type() == Some("stix"))
            .then(|| self.pattern().map(crate::pattern::Pattern::parse))
            .flatten()
    }
}

impl Malware<'_> {
    /// The kill-chain phases (malformed entries skipped).
    pub fn kill_chain_phases(&self) -> Vec<KillChainPhase> {
        kill_chain_phases(self.0)
    }
}

impl AttackPattern<'_> {
    /// The kill-chain phases (malformed entries skipped).
    pub fn kill_chain_phases(&self) -> Vec<KillChainPhase> {
        kill_chain_phases(self.0)
    }
}

impl Tool<'_> {
    /// The kill-chain phases (malformed entries skipped).
    pub fn kill_chain_phases(&self) -> Vec<KillChainPhase> {
        kill_chain_phases(self.0)
    }
}

impl File<'_> {
    /// The `hashes` dictionary, e.g. `"SHA-256" -> "…"` (non-string values skipped).
    pub fn hashes(&self) -> BTreeMap<String, String> {
        self.0
            .properties
            .get("hashes")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_owned())))
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl Note<'_> {
    /// The `abstract` property (a Rust keyword, hence the name).
    pub fn abstract_text(&self) -> Option<&str> {
        self.0.str_prop("abstract")
    }
}

impl ObservedData<'_> {
    /// The deprecated (but common) embedded `objects` dictionary, if present.
    pub fn objects(&self) -> Option<&serde_json::Map<String, Value>> {
        self.0.properties.get("objects").and_then(Value::as_object)
    }
}

fn kill_chain_phases(o: &StixObject) -> Vec<KillChainPhase> {
    o.properties
        .get("kill_chain_phases")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| serde_json::from_value(v.clone()).ok())
                .collect()
        })
        .unwrap_or_default()
}
