"""BG/NBD (purchase frequency, P(alive)) and Gamma-Gamma (spend per purchase), on SciPy.

A small, tested implementation instead of ``lifetimes`` (unmaintained, pins old pandas): the two
likelihoods and the three predictions Sadakat needs fit in this page. Formulas from Fader, Hardie
and Lee, "Counting Your Customers the Easy Way" (2005) and "RFM and CLV" (2005); checked against
the CDNOW sample in ``tests/test_clv.py``.

Inputs per customer, in one time unit (weeks here): ``x`` repeat transactions, ``t_x`` time of
the last one after the first purchase, ``T`` time from the first purchase to the end of the
observation, and for Gamma-Gamma ``m`` the mean value of the repeat transactions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize
from scipy.special import betaln, gammaln, hyp2f1


class FitError(ValueError):
    """The data cannot support a fit (too few customers or repeat buyers) or it did not converge."""


@dataclass(frozen=True)
class BGNBD:
    r: float
    alpha: float
    a: float
    b: float

    def p_alive(self, x, t_x, T) -> np.ndarray:
        x, t_x, T = map(np.asarray, (x, t_x, T))
        ratio = np.exp((self.r + x) * (np.log(self.alpha + T) - np.log(self.alpha + t_x)))
        odds = np.where(x > 0, self.a / (self.b + np.maximum(x, 1) - 1) * ratio, 0.0)
        return 1.0 / (1.0 + odds)

    def expected_transactions(self, t, x, t_x, T) -> np.ndarray:
        """Expected transactions in the next ``t`` time units, given each customer's history."""
        x, t_x, T = map(np.asarray, (x, t_x, T))
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        hyp = hyp2f1(r + x, b + x, a + b + x - 1, t / (alpha + T + t))
        first = (a + b + x - 1) / (a - 1)
        second = 1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp
        return first * second * self.p_alive(x, t_x, T)


def _bgnbd_negll(log_params: np.ndarray, x, t_x, T) -> float:
    r, alpha, a, b = np.exp(log_params)
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a2 = betaln(a, b + x) - betaln(a, b)
    a3 = -(r + x) * np.log(alpha + T)
    a4 = np.where(
        x > 0,
        np.log(a) - np.log(b + np.maximum(x, 1) - 1) - (r + x) * np.log(alpha + t_x),
        -np.inf,
    )
    return -float(np.sum(a1 + a2 + np.logaddexp(a3, a4)))


def fit_bgnbd(x, t_x, T) -> BGNBD:
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    if len(x) < 20 or np.count_nonzero(x) < 5:
        raise FitError(f"BG/NBD needs at least 20 customers, 5 of them repeat buyers; got "
                       f"{len(x)} and {np.count_nonzero(x)}")
    result = minimize(_bgnbd_negll, np.zeros(4), args=(x, t_x, T), method="Nelder-Mead",
                      options={"xatol": 1e-8, "fatol": 1e-8, "maxiter": 10_000})
    if not result.success:
        raise FitError(f"BG/NBD fit did not converge: {result.message}")
    return BGNBD(*(float(v) for v in np.exp(result.x)))


@dataclass(frozen=True)
class GammaGamma:
    p: float
    q: float
    v: float

    def expected_spend(self, x, m) -> np.ndarray:
        """Expected value of a future transaction; the population mean for non-repeaters."""
        x, m = np.asarray(x, dtype=float), np.asarray(m, dtype=float)
        p, q, v = self.p, self.q, self.v
        population = p * v / (q - 1)
        weight = p * x / (p * x + q - 1)
        return np.where(x > 0, (1 - weight) * population + weight * np.nan_to_num(m), population)


def _gg_negll(log_params: np.ndarray, x, m) -> float:
    p, q, v = np.exp(log_params)
    ll = (gammaln(p * x + q) - gammaln(p * x) - gammaln(q) + q * np.log(v)
          + (p * x - 1) * np.log(m) + p * x * np.log(x) - (p * x + q) * np.log(x * m + v))
    return -float(np.sum(ll))


def fit_gamma_gamma(x, m) -> GammaGamma:
    """Fit on repeat buyers with a positive mean repeat value (others carry no spend signal)."""
    x, m = np.asarray(x, dtype=float), np.asarray(m, dtype=float)
    keep = (x > 0) & (m > 0)
    if np.count_nonzero(keep) < 5:
        raise FitError(f"Gamma-Gamma needs at least 5 repeat buyers; got {np.count_nonzero(keep)}")
    result = minimize(_gg_negll, np.zeros(3), args=(x[keep], m[keep]), method="Nelder-Mead",
                      options={"xatol": 1e-8, "fatol": 1e-8, "maxiter": 10_000})
    if not result.success:
        raise FitError(f"Gamma-Gamma fit did not converge: {result.message}")
    params = GammaGamma(*(float(v) for v in np.exp(result.x)))
    if params.q <= 1:
        raise FitError("Gamma-Gamma fit has q <= 1: mean spend is undefined")
    return params


def lifetime_value(bg: BGNBD, gg: GammaGamma, x, t_x, T, m, *, horizon_months: int,
                   annual_discount: float, weeks_per_month: float = 365.25 / 12 / 7) -> np.ndarray:
    """Discounted expected spend over the horizon: each month's expected transactions times the
    expected value of one, discounted monthly at the annual rate."""
    spend = gg.expected_spend(x, m)
    monthly = (1 + annual_discount) ** (1 / 12) - 1
    total = np.zeros(len(np.asarray(x)))
    before = np.zeros_like(total)
    for month in range(1, horizon_months + 1):
        upto = bg.expected_transactions(month * weeks_per_month, x, t_x, T)
        total += (upto - before) * spend / (1 + monthly) ** month
        before = upto
    return total
