//! Stand-ins until the influxql crate exports these helpers.

use tessera_influxql::{Expr, Field};

pub fn field_name(f: &Field) -> String {
    if let Some(a) = &f.alias {
        return a.clone();
    }
    fn name(e: &Expr) -> String {
        match e {
            Expr::Call { name, .. } => name.clone(),
            Expr::VarRef { name, .. } => name.clone(),
            Expr::Paren(e) => name(e),
            Expr::Binary { lhs, rhs, .. } => {
                let (l, r) = (name(lhs), name(rhs));
                match (l.is_empty(), r.is_empty()) {
                    (true, _) => r,
                    (_, true) => l,
                    _ => format!("{l}_{r}"),
                }
            }
            Expr::Distinct(_) => "distinct".into(),
            _ => String::new(),
        }
    }
    name(&f.expr)
}
