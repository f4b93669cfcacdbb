//! The Nelder–Mead simplex minimiser influxd uses to fit Holt-Winters
//! (query/neldermead, after Michael F. Hutt's C version), step for step:
//! the objective may modify the vertex it is given, and after a shrink only
//! two vertices are re-evaluated, as in the original.

const MAX_ITERATIONS: usize = 1000;
/// Reflection coefficient.
const ALPHA: f64 = 1.0;
/// Contraction coefficient.
const BETA: f64 = 0.5;
/// Expansion coefficient.
const GAMMA: f64 = 2.0;

/// Minimises `f` from `start`; returns (minimum, parameters).
// Index loops on purpose: they mirror the original step for step.
#[allow(clippy::needless_range_loop)]
pub(crate) fn optimize<F: FnMut(&mut [f64]) -> f64>(
    mut f: F,
    start: &[f64],
    epsilon: f64,
    scale: f64,
) -> (f64, Vec<f64>) {
    let n = start.len();
    let mut v = vec![vec![0.0; n]; n + 1];
    let mut fv = vec![0.0; n + 1];
    let mut vr = vec![0.0; n];
    let mut ve = vec![0.0; n];
    let mut vc = vec![0.0; n];
    let mut vm = vec![0.0; n];

    let nf = n as f64;
    let pn = scale * ((nf + 1.0).sqrt() - 1.0 + nf) / (nf * 2f64.sqrt());
    let qn = scale * ((nf + 1.0).sqrt() - 1.0) / (nf * 2f64.sqrt());
    v[0].copy_from_slice(start);
    for i in 1..=n {
        for j in 0..n {
            v[i][j] = if i - 1 == j {
                pn + start[j]
            } else {
                qn + start[j]
            };
        }
    }
    for j in 0..=n {
        fv[j] = f(&mut v[j]);
    }

    for _ in 0..MAX_ITERATIONS {
        let (mut vg, mut vs) = (0, 0);
        for i in 0..=n {
            if fv[i] > fv[vg] {
                vg = i;
            }
            if fv[i] < fv[vs] {
                vs = i;
            }
        }
        let mut vh = vs;
        for i in 0..=n {
            if fv[i] > fv[vh] && fv[i] < fv[vg] {
                vh = i;
            }
        }
        for i in 0..n {
            let mut cent = 0.0;
            for (m, row) in v.iter().enumerate() {
                if m != vg {
                    cent += row[i];
                }
            }
            vm[i] = cent / nf;
        }
        for i in 0..n {
            vr[i] = vm[i] + ALPHA * (vm[i] - v[vg][i]);
        }
        let fr = f(&mut vr);
        if fr < fv[vh] && fr >= fv[vs] {
            v[vg].copy_from_slice(&vr);
            fv[vg] = fr;
        }
        if fr < fv[vs] {
            for i in 0..n {
                ve[i] = vm[i] + GAMMA * (vr[i] - vm[i]);
            }
            let fe = f(&mut ve);
            if fe < fr {
                v[vg].copy_from_slice(&ve);
                fv[vg] = fe;
            } else {
                v[vg].copy_from_slice(&vr);
                fv[vg] = fr;
            }
        }
        if fr >= fv[vh] {
            if fr < fv[vg] && fr >= fv[vh] {
                for i in 0..n {
                    vc[i] = vm[i] + BETA * (vr[i] - vm[i]);
                }
            } else {
                for i in 0..n {
                    vc[i] = vm[i] - BETA * (vm[i] - v[vg][i]);
                }
            }
            let fc = f(&mut vc);
            if fc < fv[vg] {
                v[vg].copy_from_slice(&vc);
                fv[vg] = fc;
            } else {
                let best = v[vs].clone();
                for (row, vrow) in v.iter_mut().enumerate() {
                    if row != vs {
                        for i in 0..n {
                            vrow[i] = best[i] + (vrow[i] - best[i]) / 2.0;
                        }
                    }
                }
                fv[vg] = f(&mut v[vg]);
                fv[vh] = f(&mut v[vh]);
            }
        }
        let favg = fv.iter().fold(0.0, |a, &x| a + x) / (nf + 1.0);
        let mut s = 0.0;
        for &x in &fv {
            s += (x - favg) * (x - favg) / nf;
        }
        if s.sqrt() < epsilon {
            break;
        }
    }
    let mut vs = 0;
    for i in 0..=n {
        if fv[i] < fv[vs] {
            vs = i;
        }
    }
    let params = v[vs].clone();
    let min = f(&mut v[vs]);
    (min, params)
}
