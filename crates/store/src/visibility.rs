//! The access policy's list filter rendered as SQL. A table of marked objects carries the columns
//! `tlp_rank` (0 CLEAR .. 4 RED), `owner_org`, `sharing_group` and a recipients table of
//! `(object_id, org_id)`; [`predicate`] returns a boolean SQL expression over them that admits
//! exactly the rows [`VisibilityFilter::admits`] admits (the store test suite checks this on both
//! backends).

use mamori_access::VisibilityFilter;
use mamori_model::Tlp;

/// Names of the marking columns in the query at hand.
#[derive(Debug, Clone, Copy)]
pub struct MarkingColumns<'a> {
    /// The object's id column, e.g. `r.id`.
    pub id: &'a str,
    pub tlp_rank: &'a str,
    pub owner_org: &'a str,
    pub sharing_group: &'a str,
    /// The recipients table, with columns `object_id` and `org_id`.
    pub recipients_table: &'a str,
}

/// A SQL boolean expression and the text values to bind to its `$n` parameters, numbered from
/// `first_param`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Predicate {
    pub sql: String,
    pub binds: Vec<String>,
}

/// Renders the filter for the given columns.
pub fn predicate(f: &VisibilityFilter, c: &MarkingColumns<'_>, first_param: usize) -> Predicate {
    let clear = Tlp::Clear.rank();
    let green = Tlp::Green.rank();
    let red = Tlp::Red.rank();
    let Some(org) = f.org else {
        return Predicate {
            sql: format!("({} = {clear})", c.tlp_rank),
            binds: Vec::new(),
        };
    };
    let mut binds = vec![org.to_string()];
    let org_param = format!("${first_param}");
    let is_recipient = |org_param: &str| {
        format!(
            "EXISTS (SELECT 1 FROM {t} rcp WHERE rcp.object_id = {id} AND rcp.org_id = {org_param})",
            t = c.recipients_table,
            id = c.id
        )
    };
    let no_recipients = format!(
        "NOT EXISTS (SELECT 1 FROM {t} rcp WHERE rcp.object_id = {id})",
        t = c.recipients_table,
        id = c.id
    );
    let in_group = if f.groups.is_empty() || f.admin {
        "1 = 0".to_owned()
    } else {
        let params: Vec<String> = f
            .groups
            .iter()
            .enumerate()
            .map(|(i, g)| {
                binds.push(g.to_string());
                format!("${}", first_param + 1 + i)
            })
            .collect();
        format!("{} IN ({})", c.sharing_group, params.join(", "))
    };
    let below_red = if f.admin {
        "1 = 1".to_owned()
    } else {
        format!(
            "{in_group} OR ({tlp} = {green} AND {sg} IS NULL AND {no_recipients})",
            tlp = c.tlp_rank,
            sg = c.sharing_group
        )
    };
    let sql = format!(
        "({tlp} = {clear} OR {owner} = {org_param} OR {recip} OR ({tlp} < {red} AND ({below_red})))",
        tlp = c.tlp_rank,
        owner = c.owner_org,
        recip = is_recipient(&org_param),
    );
    Predicate { sql, binds }
}
