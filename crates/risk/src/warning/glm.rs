//! Quasi-Poisson GLM with log link fitted by iteratively reweighted least squares, following
//! R's `glm.fit` (start μ = y + 0.1, convergence |Δdeviance| / (|deviance| + 0.1) < 1e-8, at most
//! 25 iterations) so that results match R's to rounding.

use super::cusum::solve;

/// A fitted model.
#[derive(Debug, Clone)]
pub(crate) struct GlmFit {
    pub beta: Vec<f64>,
    pub mu: Vec<f64>,
    /// (X'WX)⁻¹ with the final working weights.
    pub cov_unscaled: Vec<Vec<f64>>,
    /// Pearson dispersion Σ w (y − μ)²/μ / (n − p).
    pub dispersion: f64,
    /// Σ w ((y − μ)/μ)² / (n − p): what R's `summary.glm` computes when the model's `weights`
    /// (normally the working weights w·μ) have been overwritten with the prior weights w.
    pub dispersion_prior_weights: f64,
    pub df_residual: f64,
    /// Diagonal of the hat matrix W^½ X (X'WX)⁻¹ X' W^½.
    pub hat: Vec<f64>,
    pub converged: bool,
}

fn invert(a: &[Vec<f64>]) -> Option<Vec<Vec<f64>>> {
    let p = a.len();
    let mut cols = Vec::with_capacity(p);
    for j in 0..p {
        let mut e = vec![0.0; p];
        e[j] = 1.0;
        cols.push(solve(a.to_vec(), e)?);
    }
    Some(
        (0..p)
            .map(|i| (0..p).map(|j| cols[j][i]).collect())
            .collect(),
    )
}

/// Fits y ~ X (rows of X include the intercept column) with prior weights `w`.
pub(crate) fn fit_quasipoisson(x: &[Vec<f64>], y: &[f64], w: &[f64]) -> Option<GlmFit> {
    let n = y.len();
    let p = x.first()?.len();
    if n <= p {
        return None;
    }
    let mut mu: Vec<f64> = y.iter().map(|v| v + 0.1).collect();
    let mut eta: Vec<f64> = mu.iter().map(|m| m.ln()).collect();
    let deviance = |mu: &[f64]| -> f64 {
        2.0 * (0..n)
            .map(|i| {
                let yl = if y[i] > 0.0 {
                    y[i] * (y[i] / mu[i]).ln()
                } else {
                    0.0
                };
                w[i] * (yl - (y[i] - mu[i]))
            })
            .sum::<f64>()
    };
    let mut dev_old = deviance(&mu);
    let mut beta = vec![0.0; p];
    let mut converged = false;
    let mut xtwx = vec![vec![0.0; p]; p];
    // μ at the start of the last iteration: R keeps that iteration's working weights (and QR)
    // for the covariance, the hat values and the dispersion, with the final μ in the residuals.
    let mut mu_w = mu.clone();
    for _iter in 0..25 {
        mu_w.copy_from_slice(&mu);
        // Working response and weights.
        let mut xtwz = vec![0.0; p];
        for row in xtwx.iter_mut() {
            row.iter_mut().for_each(|v| *v = 0.0);
        }
        for i in 0..n {
            let z = eta[i] + (y[i] - mu[i]) / mu[i];
            let wi = w[i] * mu[i];
            for a in 0..p {
                let xa = x[i][a] * wi;
                xtwz[a] += xa * z;
                for b in 0..p {
                    xtwx[a][b] += xa * x[i][b];
                }
            }
        }
        beta = solve(xtwx.clone(), xtwz)?;
        for i in 0..n {
            eta[i] = (0..p).map(|a| x[i][a] * beta[a]).sum();
            mu[i] = eta[i].exp();
        }
        let dev = deviance(&mu);
        if !dev.is_finite() {
            return None;
        }
        if (dev - dev_old).abs() / (dev.abs() + 0.1) < 1e-8 {
            converged = true;
            break;
        }
        dev_old = dev;
    }
    let cov = invert(&xtwx)?;
    let n_ok = w.iter().filter(|&&v| v != 0.0).count() as f64;
    let df = n_ok - p as f64;
    let dispersion = (0..n)
        .filter(|&i| w[i] != 0.0)
        .map(|i| w[i] * mu_w[i] * ((y[i] - mu[i]) / mu[i]).powi(2))
        .sum::<f64>()
        / df;
    let dispersion_prior_weights = (0..n)
        .filter(|&i| w[i] != 0.0)
        .map(|i| w[i] * ((y[i] - mu[i]) / mu[i]).powi(2))
        .sum::<f64>()
        / df;
    let hat = (0..n)
        .map(|i| {
            let wi = w[i] * mu_w[i];
            let q: f64 = (0..p)
                .map(|a| (0..p).map(|b| x[i][a] * cov[a][b] * x[i][b]).sum::<f64>())
                .sum();
            wi * q
        })
        .collect();
    Some(GlmFit {
        beta,
        mu,
        cov_unscaled: cov,
        dispersion,
        dispersion_prior_weights,
        df_residual: df,
        hat,
        converged,
    })
}

impl GlmFit {
    /// Linear predictor and its standard error (with dispersion `disp`) at x0.
    pub fn predict_link(&self, x0: &[f64], disp: f64) -> (f64, f64) {
        let p = x0.len();
        let eta: f64 = (0..p).map(|a| x0[a] * self.beta[a]).sum();
        let q: f64 = (0..p)
            .map(|a| {
                (0..p)
                    .map(|b| x0[a] * self.cov_unscaled[a][b] * x0[b])
                    .sum::<f64>()
            })
            .sum();
        (eta, (disp * q).sqrt())
    }
}
