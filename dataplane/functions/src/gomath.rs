//! Go's `math.Pow` for integral exponents: repeated squaring of the
//! mantissa, which can differ from the platform `pow` in the last bit.
//! Holt-Winters raises its damping factor this way thousands of times
//! during a fit, so the difference would show in the forecast.

/// `math.Frexp`: `x = frac * 2^exp`, `|frac|` in [0.5, 1).
pub(crate) fn frexp(x: f64) -> (f64, i32) {
    if x == 0.0 || x.is_nan() || x.is_infinite() {
        return (x, 0);
    }
    let (mut x, mut e) = (x, 0);
    if x.abs() < f64::MIN_POSITIVE {
        x *= (1u64 << 52) as f64;
        e = -52;
    }
    let bits = x.to_bits();
    e += ((bits >> 52) & 0x7ff) as i32 - 1022;
    let frac = f64::from_bits((bits & !(0x7ff << 52)) | (1022 << 52));
    (frac, e)
}

/// `math.Ldexp`: `frac * 2^exp`.
fn ldexp(frac: f64, exp: i32) -> f64 {
    let mut x = frac;
    let mut e = exp;
    while e > 1000 {
        x *= 2f64.powi(1000);
        e -= 1000;
    }
    while e < -1000 {
        x *= 2f64.powi(-1000);
        e += 1000;
    }
    x * 2f64.powi(e)
}

/// Go 1.10's `math.Pow(x, y)`. Exact port for integral `y`; other
/// exponents fall back to the platform `powf`.
pub(crate) fn pow(x: f64, y: f64) -> f64 {
    if y == 0.0 || x == 1.0 {
        return 1.0;
    }
    if y == 1.0 {
        return x;
    }
    if x.is_nan() || y.is_nan() {
        return f64::NAN;
    }
    let yi = y.abs().trunc();
    if yi != y.abs() || x == 0.0 || x.is_infinite() || y.is_infinite() || yi >= 9.2e18 {
        return x.powf(y);
    }
    let mut a1 = 1.0;
    let mut ae: i32 = 0;
    let (mut x1, mut xe) = frexp(x);
    let mut i = yi as i64;
    while i != 0 {
        if !(-(1 << 12)..=(1 << 12)).contains(&xe) {
            ae += xe;
            break;
        }
        if i & 1 == 1 {
            a1 *= x1;
            ae += xe;
        }
        x1 *= x1;
        xe <<= 1;
        if x1 < 0.5 {
            x1 += x1;
            xe -= 1;
        }
        i >>= 1;
    }
    if y < 0.0 {
        a1 = 1.0 / a1;
        ae = -ae;
    }
    ldexp(a1, ae)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integral_powers() {
        assert_eq!(pow(2.0, 10.0), 1024.0);
        assert_eq!(pow(0.5, 3.0), 0.125);
        assert_eq!(pow(3.0, -2.0), 1.0 / 9.0);
        assert!((pow(0.7, 13.0) - 0.7f64.powi(13)).abs() < 1e-15);
        assert_eq!(frexp(8.0), (0.5, 4));
    }
}
