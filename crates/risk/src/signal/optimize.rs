//! Nelder–Mead simplex minimisation (Nelder & Mead 1965, with the standard coefficients
//! reflection 1, expansion 2, contraction ½, shrink ½), with restarts.

/// Options of the minimiser.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NelderMead {
    /// Initial simplex edge along each coordinate.
    pub step: f64,
    /// Stop when the spread of function values in the simplex is below this, relative to
    /// 1 + |f| (and a restart stops the search when it improves f by less than that).
    pub f_tol: f64,
    /// Stop when the simplex diameter is below this.
    pub x_tol: f64,
    /// Budget of function evaluations over all restarts.
    pub max_evaluations: usize,
    /// Maximum number of restarts from the best point.
    pub max_restarts: usize,
}

impl Default for NelderMead {
    fn default() -> Self {
        NelderMead {
            step: 0.5,
            f_tol: 2.5e-13,
            x_tol: 1e-7,
            max_evaluations: 20_000,
            max_restarts: 20,
        }
    }
}

/// Result of a minimisation.
#[derive(Debug, Clone, PartialEq)]
pub struct NelderMeadResult {
    /// The best point.
    pub x: Vec<f64>,
    /// f at the best point.
    pub f: f64,
    /// Function evaluations used.
    pub evaluations: usize,
    /// True if the tolerances were met (a restart did not improve f by more than `f_tol`).
    pub converged: bool,
}

impl NelderMead {
    /// Minimises `f` from `x0`. Non-finite function values count as +∞.
    pub fn minimize(&self, mut f: impl FnMut(&[f64]) -> f64, x0: &[f64]) -> NelderMeadResult {
        let n = x0.len();
        let mut evals = 0usize;
        let mut eval = |x: &[f64], evals: &mut usize| {
            *evals += 1;
            let v = f(x);
            if v.is_finite() { v } else { f64::INFINITY }
        };
        let mut best_x = x0.to_vec();
        let mut best_f = eval(&best_x, &mut evals);
        let mut converged = false;
        for restart in 0..=self.max_restarts {
            let step = if restart == 0 {
                self.step
            } else {
                self.step * 0.1
            };
            // Build simplex around best_x.
            let mut simplex: Vec<(Vec<f64>, f64)> = Vec::with_capacity(n + 1);
            simplex.push((best_x.clone(), best_f));
            for i in 0..n {
                let mut x = best_x.clone();
                x[i] += step;
                let fx = eval(&x, &mut evals);
                simplex.push((x, fx));
            }
            loop {
                simplex.sort_by(|a, b| a.1.total_cmp(&b.1));
                let f_spread = simplex[n].1 - simplex[0].1;
                let diam = simplex[1..]
                    .iter()
                    .map(|(x, _)| {
                        x.iter()
                            .zip(&simplex[0].0)
                            .map(|(a, b)| (a - b).abs())
                            .fold(0.0, f64::max)
                    })
                    .fold(0.0, f64::max);
                if (f_spread <= self.f_tol * (1.0 + simplex[0].1.abs()) && diam <= self.x_tol)
                    || evals >= self.max_evaluations
                {
                    break;
                }
                // Centroid of all but the worst.
                let mut c = vec![0.0; n];
                for (x, _) in &simplex[..n] {
                    for (ci, xi) in c.iter_mut().zip(x) {
                        *ci += xi / n as f64;
                    }
                }
                let worst = simplex[n].clone();
                let along = |t: f64| -> Vec<f64> {
                    c.iter()
                        .zip(&worst.0)
                        .map(|(ci, wi)| ci + t * (ci - wi))
                        .collect()
                };
                let xr = along(1.0);
                let fr = eval(&xr, &mut evals);
                if fr < simplex[0].1 {
                    let xe = along(2.0);
                    let fe = eval(&xe, &mut evals);
                    simplex[n] = if fe < fr { (xe, fe) } else { (xr, fr) };
                } else if fr < simplex[n - 1].1 {
                    simplex[n] = (xr, fr);
                } else {
                    let (xc, fc) = if fr < worst.1 {
                        let xc = along(0.5);
                        let fc = eval(&xc, &mut evals);
                        (xc, fc)
                    } else {
                        let xc = along(-0.5);
                        let fc = eval(&xc, &mut evals);
                        (xc, fc)
                    };
                    if fc < worst.1.min(fr) {
                        simplex[n] = (xc, fc);
                    } else {
                        // Shrink towards the best.
                        let b = simplex[0].0.clone();
                        for item in simplex.iter_mut().skip(1) {
                            let x: Vec<f64> = b
                                .iter()
                                .zip(&item.0)
                                .map(|(bi, xi)| bi + 0.5 * (xi - bi))
                                .collect();
                            let fx = eval(&x, &mut evals);
                            *item = (x, fx);
                        }
                    }
                }
            }
            simplex.sort_by(|a, b| a.1.total_cmp(&b.1));
            let improved = best_f - simplex[0].1;
            if simplex[0].1 <= best_f {
                best_x = simplex[0].0.clone();
                best_f = simplex[0].1;
            }
            if restart > 0 && improved <= self.f_tol * (1.0 + best_f.abs()) {
                converged = true;
                break;
            }
            if evals >= self.max_evaluations {
                break;
            }
        }
        NelderMeadResult {
            x: best_x,
            f: best_f,
            evaluations: evals,
            converged,
        }
    }
}

/// Options of the BFGS quasi-Newton minimiser (with a backtracking Armijo line search).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bfgs {
    /// Stop when max |∂f/∂x| ≤ `g_tol`·(1 + |f|).
    pub g_tol: f64,
    /// Stop when an accepted step changes f by at most `f_tol`·(1 + |f|).
    pub f_tol: f64,
    /// Iteration budget.
    pub max_iterations: usize,
}

impl Default for Bfgs {
    fn default() -> Self {
        Bfgs {
            g_tol: 1e-10,
            f_tol: 1e-15,
            max_iterations: 1_000,
        }
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

impl Bfgs {
    /// Minimises f from `x0`, given `fg(x) = (f(x), ∇f(x))`. Non-finite values count as +∞.
    pub fn minimize(
        &self,
        mut fg: impl FnMut(&[f64]) -> (f64, Vec<f64>),
        x0: &[f64],
    ) -> NelderMeadResult {
        let n = x0.len();
        let mut evals = 1;
        let mut x = x0.to_vec();
        let (mut f, mut g) = fg(&x);
        if !f.is_finite() {
            return NelderMeadResult {
                x,
                f: f64::INFINITY,
                evaluations: evals,
                converged: false,
            };
        }
        let identity = || {
            (0..n)
                .map(|i| {
                    (0..n)
                        .map(|j| if i == j { 1.0 } else { 0.0 })
                        .collect::<Vec<f64>>()
                })
                .collect::<Vec<_>>()
        };
        let mut h = identity();
        let mut first = true;
        let mut converged = false;
        for _ in 0..self.max_iterations {
            if g.iter().fold(0.0f64, |m, v| m.max(v.abs())) <= self.g_tol * (1.0 + f.abs()) {
                converged = true;
                break;
            }
            let mut d: Vec<f64> = (0..n).map(|i| -dot(&h[i], &g)).collect();
            let mut slope = dot(&g, &d);
            if slope >= 0.0 {
                h = identity();
                d = g.iter().map(|v| -v).collect();
                slope = -dot(&g, &g);
            }
            let mut t = 1.0;
            let (xn, fnew, gn) = loop {
                let xn: Vec<f64> = x.iter().zip(&d).map(|(a, b)| a + t * b).collect();
                let (fv, gv) = fg(&xn);
                evals += 1;
                if fv.is_finite() && fv <= f + 1e-4 * t * slope {
                    break (xn, fv, gv);
                }
                t *= 0.5;
                if t < 1e-20 {
                    return NelderMeadResult {
                        x,
                        f,
                        evaluations: evals,
                        converged: false, // no descent: at the limit of floating-point resolution
                    };
                }
            };
            let s: Vec<f64> = xn.iter().zip(&x).map(|(a, b)| a - b).collect();
            let y: Vec<f64> = gn.iter().zip(&g).map(|(a, b)| a - b).collect();
            let sy = dot(&s, &y);
            let df = f - fnew;
            x = xn;
            f = fnew;
            g = gn;
            if sy > 1e-300 {
                if first {
                    let scale = sy / dot(&y, &y);
                    h = identity()
                        .into_iter()
                        .map(|r| r.into_iter().map(|v| v * scale).collect())
                        .collect();
                    first = false;
                }
                let rho = 1.0 / sy;
                let hy: Vec<f64> = (0..n).map(|i| dot(&h[i], &y)).collect();
                let yhy = dot(&y, &hy);
                for i in 0..n {
                    for j in 0..n {
                        h[i][j] += -rho * (hy[i] * s[j] + s[i] * hy[j])
                            + (rho * rho * yhy + rho) * s[i] * s[j];
                    }
                }
            }
            if df.abs() <= self.f_tol * (1.0 + f.abs()) && s.iter().all(|v| v.abs() < 1e-10) {
                converged = true;
                break;
            }
        }
        NelderMeadResult {
            x,
            f,
            evaluations: evals,
            converged,
        }
    }
}
