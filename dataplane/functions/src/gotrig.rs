//! Go's Cephes-based trigonometry (`math.Sin`, `Cos`, `Tan`, `Atan`,
//! `Asin`, `Acos`, `Atan2`), pure Go on amd64, ported operation for
//! operation so InfluxQL's math functions match influxd to the bit.
//!
//! Arguments of 2^29 and more need Go's Payne–Hanek reduction, which is not
//! ported: they fall back to the platform functions.

// The constants are written as Go writes them, digits beyond f64 included.
#![allow(clippy::excessive_precision, clippy::approx_constant)]

/// Go's `reduceThreshold`: above it Go uses Payne–Hanek reduction.
const REDUCE_THRESHOLD: f64 = (1u64 << 29) as f64;
/// Pi/4 split into three parts for Cody–Waite reduction.
const PI4A: f64 = 7.853_981_256_484_985_351_56e-1;
const PI4B: f64 = 3.774_894_707_930_798_176_68e-8;
const PI4C: f64 = 2.695_151_429_079_059_526_45e-15;
/// 4/Pi rounded once, as Go folds the constant.
const FOUR_OVER_PI: f64 = 2.0 * std::f64::consts::FRAC_2_PI;
const SIN: [f64; 6] = [
    1.589_623_015_765_465_680_60e-10,
    -2.505_074_776_285_780_728_66e-8,
    2.755_731_362_138_572_452_13e-6,
    -1.984_126_982_958_953_859_96e-4,
    8.333_333_333_322_118_588_78e-3,
    -1.666_666_666_666_663_072_95e-1,
];
const COS: [f64; 6] = [
    -1.135_853_652_138_768_173_00e-11,
    2.087_570_084_197_473_167_78e-9,
    -2.755_731_417_929_673_881_12e-7,
    2.480_158_728_885_170_453_48e-5,
    -1.388_888_888_887_305_641_16e-3,
    4.166_666_666_666_659_292_18e-2,
];

/// Octant and reduced argument of |x| < 2^29.
fn reduce(x: f64) -> (u64, f64) {
    let mut j = (x * FOUR_OVER_PI) as u64;
    let mut y = j as f64;
    if j & 1 == 1 {
        j += 1;
        y += 1.0;
    }
    (j, ((x - y * PI4A) - y * PI4B) - y * PI4C)
}

fn sin_poly(z: f64, zz: f64) -> f64 {
    z + z
        * zz
        * (((((SIN[0] * zz + SIN[1]) * zz + SIN[2]) * zz + SIN[3]) * zz + SIN[4]) * zz + SIN[5])
}

fn cos_poly(zz: f64) -> f64 {
    1.0 - 0.5 * zz
        + zz * zz
            * (((((COS[0] * zz + COS[1]) * zz + COS[2]) * zz + COS[3]) * zz + COS[4]) * zz + COS[5])
}

/// Go's `math.Sin`.
pub(crate) fn sin(x: f64) -> f64 {
    if x == 0.0 || x.is_nan() {
        return x;
    }
    if x.is_infinite() {
        return f64::NAN;
    }
    let (mut x, mut sign) = (x, false);
    if x < 0.0 {
        x = -x;
        sign = true;
    }
    if x >= REDUCE_THRESHOLD {
        return if sign { -x.sin() } else { x.sin() };
    }
    let (mut j, z) = reduce(x);
    j &= 7;
    if j > 3 {
        sign = !sign;
        j -= 4;
    }
    let zz = z * z;
    let y = if j == 1 || j == 2 {
        cos_poly(zz)
    } else {
        sin_poly(z, zz)
    };
    if sign {
        -y
    } else {
        y
    }
}

/// Go's `math.Cos`.
pub(crate) fn cos(x: f64) -> f64 {
    if x.is_nan() || x.is_infinite() {
        return f64::NAN;
    }
    let x = x.abs();
    if x >= REDUCE_THRESHOLD {
        return x.cos();
    }
    let mut sign = false;
    let (mut j, z) = reduce(x);
    j &= 7;
    if j > 3 {
        j -= 4;
        sign = !sign;
    }
    if j > 1 {
        sign = !sign;
    }
    let zz = z * z;
    let y = if j == 1 || j == 2 {
        sin_poly(z, zz)
    } else {
        cos_poly(zz)
    };
    if sign {
        -y
    } else {
        y
    }
}

/// Go's `math.Tan`.
pub(crate) fn tan(x: f64) -> f64 {
    const P: [f64; 3] = [
        -1.309_369_391_813_837_776_46e4,
        1.153_516_648_385_874_161_40e6,
        -1.795_652_519_764_848_779_88e7,
    ];
    const Q: [f64; 4] = [
        1.368_129_634_706_929_546_78e4,
        -1.320_892_344_402_109_674_47e6,
        2.500_838_018_233_579_158_39e7,
        -5.386_957_559_294_546_298_81e7,
    ];
    if x == 0.0 || x.is_nan() {
        return x;
    }
    if x.is_infinite() {
        return f64::NAN;
    }
    let (mut x, mut sign) = (x, false);
    if x < 0.0 {
        x = -x;
        sign = true;
    }
    if x >= REDUCE_THRESHOLD {
        return if sign { -x.tan() } else { x.tan() };
    }
    let (j, z) = reduce(x);
    let zz = z * z;
    let mut y = if zz > 1e-14 {
        z + z
            * (zz * ((P[0] * zz + P[1]) * zz + P[2])
                / ((((zz + Q[0]) * zz + Q[1]) * zz + Q[2]) * zz + Q[3]))
    } else {
        z
    };
    if j & 2 == 2 {
        y = -1.0 / y;
    }
    if sign {
        y = -y;
    }
    y
}

/// Series for atan on [0, 0.66].
fn xatan(x: f64) -> f64 {
    const P0: f64 = -8.750_608_600_031_904_122_785e-1;
    const P1: f64 = -1.615_753_718_733_365_076_637e1;
    const P2: f64 = -7.500_855_792_314_704_667_340e1;
    const P3: f64 = -1.228_866_684_490_136_173_410e2;
    const P4: f64 = -6.485_021_904_942_025_371_773e1;
    const Q0: f64 = 2.485_846_490_142_306_297_962e1;
    const Q1: f64 = 1.650_270_098_316_988_542_046e2;
    const Q2: f64 = 4.328_810_604_912_902_668_951e2;
    const Q3: f64 = 4.853_903_996_359_136_964_868e2;
    const Q4: f64 = 1.945_506_571_482_613_964_425e2;
    let mut z = x * x;
    z = z * ((((P0 * z + P1) * z + P2) * z + P3) * z + P4)
        / (((((z + Q0) * z + Q1) * z + Q2) * z + Q3) * z + Q4);
    x * z + x
}

/// atan of x >= 0.
fn satan(x: f64) -> f64 {
    const MOREBITS: f64 = 6.123_233_995_736_765_886_130e-17;
    const TAN3PIO8: f64 = 2.414_213_562_373_095_048_80;
    use std::f64::consts::{FRAC_PI_2, FRAC_PI_4};
    if x <= 0.66 {
        return xatan(x);
    }
    if x > TAN3PIO8 {
        return FRAC_PI_2 - xatan(1.0 / x) + MOREBITS;
    }
    FRAC_PI_4 + xatan((x - 1.0) / (x + 1.0)) + 0.5 * MOREBITS
}

/// Go's `math.Atan`.
pub(crate) fn atan(x: f64) -> f64 {
    if x == 0.0 {
        return x;
    }
    if x > 0.0 {
        satan(x)
    } else {
        -satan(-x)
    }
}

/// Go's `math.Asin`.
pub(crate) fn asin(x: f64) -> f64 {
    if x == 0.0 {
        return x;
    }
    let (mut x, mut sign) = (x, false);
    if x < 0.0 {
        x = -x;
        sign = true;
    }
    if x > 1.0 {
        return f64::NAN;
    }
    let mut t = (1.0 - x * x).sqrt();
    t = if x > 0.7 {
        std::f64::consts::FRAC_PI_2 - satan(t / x)
    } else {
        satan(x / t)
    };
    if sign {
        -t
    } else {
        t
    }
}

/// Go's `math.Acos`.
pub(crate) fn acos(x: f64) -> f64 {
    std::f64::consts::FRAC_PI_2 - asin(x)
}

/// Go's `math.Atan2`.
pub(crate) fn atan2(y: f64, x: f64) -> f64 {
    use std::f64::consts::{FRAC_PI_2, FRAC_PI_4, PI};
    if y.is_nan() || x.is_nan() {
        return f64::NAN;
    }
    if y == 0.0 {
        return if x >= 0.0 && !x.is_sign_negative() {
            0f64.copysign(y)
        } else {
            PI.copysign(y)
        };
    }
    if x == 0.0 {
        return FRAC_PI_2.copysign(y);
    }
    if x.is_infinite() {
        if x > 0.0 {
            return if y.is_infinite() {
                FRAC_PI_4.copysign(y)
            } else {
                0f64.copysign(y)
            };
        }
        return if y.is_infinite() {
            (3.0 * FRAC_PI_4).copysign(y)
        } else {
            PI.copysign(y)
        };
    }
    if y.is_infinite() {
        return FRAC_PI_2.copysign(y);
    }
    let q = atan(y / x);
    if x < 0.0 {
        if q <= 0.0 {
            return q + PI;
        }
        return q - PI;
    }
    q
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_go() {
        assert_eq!(sin(0.5), 0.479425538604203);
        assert_eq!(atan2(1.0, -1.0), 3.0 * std::f64::consts::FRAC_PI_4);
        assert!(asin(1.5).is_nan());
    }
}
