//! Extraction of plain equality tests from patterns, for indexing indicators by value.

use super::ast::{ComparisonExpr, Literal, ObservationExpr, Op};

pub(super) fn simple_equalities(root: &ObservationExpr) -> Option<Vec<(String, String)>> {
    let ObservationExpr::Simple(c) = root else {
        return None;
    };
    let mut out = Vec::new();
    collect(c, &mut out)?;
    Some(out)
}

fn collect(c: &ComparisonExpr, out: &mut Vec<(String, String)>) -> Option<()> {
    match c {
        ComparisonExpr::And(a, b) | ComparisonExpr::Or(a, b) => {
            collect(a, out)?;
            collect(b, out)
        }
        ComparisonExpr::Test(t) => {
            if t.negated {
                return None;
            }
            let value = match &t.op {
                Op::Eq(Literal::Str(s)) => s.clone(),
                Op::Eq(Literal::Int(n)) => n.to_string(),
                _ => return None,
            };
            out.push((t.path.to_string(), value));
            Some(())
        }
    }
}

pub(super) fn is_simple_disjunction(root: &ObservationExpr) -> bool {
    fn only_or(c: &ComparisonExpr) -> bool {
        match c {
            ComparisonExpr::Or(a, b) => only_or(a) && only_or(b),
            ComparisonExpr::And(..) => false,
            ComparisonExpr::Test(t) => {
                !t.negated && matches!(t.op, Op::Eq(Literal::Str(_)) | Op::Eq(Literal::Int(_)))
            }
        }
    }
    matches!(root, ObservationExpr::Simple(c) if only_or(c))
}

/// The equalities of a pattern any one of which suffices: an OR of observations, each a
/// simple disjunction (`[a = 1] OR [b = 2 OR c = 3]`).
pub(super) fn alternative_equalities(root: &ObservationExpr) -> Option<Vec<(String, String)>> {
    match root {
        ObservationExpr::Or(a, b) => {
            let mut out = alternative_equalities(a)?;
            out.extend(alternative_equalities(b)?);
            Some(out)
        }
        ObservationExpr::Simple(_) if is_simple_disjunction(root) => simple_equalities(root),
        _ => None,
    }
}
