//! Scalar math functions of the select list (`abs`, `pow`, `round`, …).

use crate::value::Value;

pub fn call(name: &str, args: &[Value]) -> Value {
    let Some(x) = args.first() else {
        return Value::Null;
    };
    if let (Value::Integer(i), "abs" | "ceil" | "floor" | "round") = (x, name) {
        return match name {
            "abs" => Value::Integer(i.wrapping_abs()),
            _ => Value::Integer(*i),
        };
    }
    let Some(f) = x.as_f64() else {
        return Value::Null;
    };
    let y = args.get(1).and_then(Value::as_f64);
    let r = match name {
        "abs" => f.abs(),
        "acos" => f.acos(),
        "asin" => f.asin(),
        "atan" => f.atan(),
        "atan2" => match y {
            Some(y) => f.atan2(y),
            None => return Value::Null,
        },
        "ceil" => f.ceil(),
        "cos" => f.cos(),
        "exp" => f.exp(),
        "floor" => f.floor(),
        "ln" => f.ln(),
        "log" => match y {
            Some(b) => f.ln() / b.ln(),
            None => return Value::Null,
        },
        "log2" => f.log2(),
        "log10" => f.log10(),
        "pow" => match y {
            Some(p) => f.powf(p),
            None => return Value::Null,
        },
        "round" => f.round(),
        "sin" => f.sin(),
        "sqrt" => f.sqrt(),
        "tan" => f.tan(),
        _ => return Value::Null,
    };
    if r.is_nan() {
        Value::Null
    } else {
        Value::Float(r)
    }
}
