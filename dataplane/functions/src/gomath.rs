//! Go's `math` functions as the reference influxd (Go 1.19, amd64) runs
//! them, so results match to the bit rather than to the platform libm's
//! last digit: `Pow` (repeated squaring), `Log` and `Exp` (the amd64
//! assembly versions; `Exp` takes its FMA path, as on any x86-64 CPU since
//! 2013), and the Cephes-based `Sin`, `Cos`, `Tan`, `Atan`, `Asin`, `Acos`,
//! `Atan2` (in `gotrig`). Holt-Winters raises its damping factor with `Pow`
//! thousands of times during a fit, and the math functions of InfluxQL are
//! these.

// The constants are written as Go writes them, digits beyond f64 included,
// so they can be compared with the reference line by line.
#![allow(clippy::excessive_precision, clippy::approx_constant)]

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

fn is_odd_int(x: f64) -> bool {
    if x.abs() >= (1u64 << 53) as f64 {
        return false;
    }
    let xi = x.trunc();
    xi == x && (xi as i64) & 1 == 1
}

/// Go's `math.Pow(x, y)`.
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
    if x == 0.0 {
        return if y < 0.0 {
            if x.is_sign_negative() && is_odd_int(y) {
                f64::NEG_INFINITY
            } else {
                f64::INFINITY
            }
        } else if x.is_sign_negative() && is_odd_int(y) {
            x
        } else {
            0.0
        };
    }
    if y.is_infinite() {
        return if x == -1.0 {
            1.0
        } else if (x.abs() < 1.0) == (y > 0.0) {
            0.0
        } else {
            f64::INFINITY
        };
    }
    if x.is_infinite() {
        if x < 0.0 {
            return pow(1.0 / x, -y);
        }
        return if y < 0.0 { 0.0 } else { f64::INFINITY };
    }
    if y == 0.5 {
        return x.sqrt();
    }
    if y == -0.5 {
        return 1.0 / x.sqrt();
    }
    let mut yi = y.abs().trunc();
    let mut yf = y.abs() - yi;
    if yf != 0.0 && x < 0.0 {
        return f64::NAN;
    }
    if yi >= (1u64 << 63) as f64 {
        return if x == -1.0 {
            1.0
        } else if (x.abs() < 1.0) == (y > 0.0) {
            0.0
        } else {
            f64::INFINITY
        };
    }
    let mut a1 = 1.0;
    let mut ae: i32 = 0;
    if yf != 0.0 {
        if yf > 0.5 {
            yf -= 1.0;
            yi += 1.0;
        }
        a1 = exp(yf * log(x));
    }
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

/// `math.Log` on amd64 (log_amd64.s): FreeBSD's algorithm, mantissa taken
/// straight from the bits (subnormals are not normalised).
pub(crate) fn log(x: f64) -> f64 {
    const HSQRT2: f64 = 7.071_067_811_865_475_244_01e-1;
    const LN2_HI: f64 = 6.931_471_803_691_238_164_90e-1;
    const LN2_LO: f64 = 1.908_214_929_270_587_700_02e-10;
    const L1: f64 = 6.666_666_666_666_735_130e-1;
    const L2: f64 = 3.999_999_999_940_941_908e-1;
    const L3: f64 = 2.857_142_874_366_239_149e-1;
    const L4: f64 = 2.222_219_843_214_978_396e-1;
    const L5: f64 = 1.818_357_216_161_805_012e-1;
    const L6: f64 = 1.531_383_769_920_937_332e-1;
    const L7: f64 = 1.479_819_860_511_658_591e-1;
    let bits = x.to_bits();
    if bits & !(1 << 63) == 0 {
        return f64::NEG_INFINITY;
    }
    if (bits as i64) < 0 {
        return f64::NAN;
    }
    if bits >= 0x7FF0_0000_0000_0000 {
        return x;
    }
    let mut f1 = f64::from_bits((bits & 0x000F_FFFF_FFFF_FFFF) | 0x3FE0_0000_0000_0000);
    let mut k = (((bits >> 52) & 0x7FF) as i32 - 0x3FE) as f64;
    if f1 < HSQRT2 {
        k -= 1.0;
        f1 *= 2.0;
    }
    let f = f1 - 1.0;
    let s = f / (2.0 + f);
    let s2 = s * s;
    let s4 = s2 * s2;
    let t1 = s2 * (L1 + s4 * (L3 + s4 * (L5 + s4 * L7)));
    let t2 = s4 * (L2 + s4 * (L4 + s4 * L6));
    let r = t1 + t2;
    let hfsq = 0.5 * f * f;
    k * LN2_HI - ((hfsq - (s * (hfsq + r) + k * LN2_LO)) - f)
}

/// `math.Exp` on amd64 (exp_amd64.s, after Shibata's SLEEF), FMA path.
pub(crate) fn exp(x: f64) -> f64 {
    const LOG2E: f64 = 1.442_695_040_888_963_407_359_924_681_001_892_0;
    const LN2U: f64 = 0.693_147_180_559_662_956_511_601_805_686_950_683_593_75;
    const LN2L: f64 = 0.282_352_905_630_315_771_225_884_481_750_134_360_255_254_120_68e-12;
    const OVERFLOW: f64 = 7.097_827_128_933_84e2;
    const C: [f64; 7] = [
        2.480_158_730_158_730_158_7e-5,
        1.984_126_984_126_984_127_0e-4,
        1.388_888_888_888_888_888_9e-3,
        8.333_333_333_333_333_333_3e-3,
        4.166_666_666_666_666_666_7e-2,
        1.666_666_666_666_666_666_7e-1,
        0.5,
    ];
    if x.is_nan() || x == f64::INFINITY {
        return x;
    }
    if x == f64::NEG_INFINITY {
        return 0.0;
    }
    if x > OVERFLOW {
        return f64::INFINITY;
    }
    // CVTSD2SL rounds to nearest even.
    let k = (LOG2E * x).round_ties_even() as i32;
    let kf = k as f64;
    let mut r = (-kf).mul_add(LN2U, x);
    r = (-kf).mul_add(LN2L, r);
    r *= 0.0625;
    let mut p = C[0];
    for c in &C[1..] {
        p = p.mul_add(r, *c);
    }
    p = p.mul_add(r, 1.0);
    r *= p;
    for _ in 0..3 {
        let t = r + 2.0;
        r *= t;
    }
    let t = r + 2.0;
    r = r.mul_add(t, 1.0);
    let e = k + 0x3FF;
    if e <= 0 {
        return 0.0;
    }
    if e >= 0x7FF {
        return f64::INFINITY;
    }
    r * f64::from_bits((e as u64) << 52)
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
        // Go's Log is not correctly rounded: log(3) ends in ...096, libm's in ...098.
        assert_eq!(log(3.0), 1.0986122886681096);
        assert_eq!(exp(1.0), std::f64::consts::E);
    }
}
