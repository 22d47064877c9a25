"""Unconstrained L-BFGS for the intent classifier's logistic regression.

scipy's only L-BFGS is L-BFGS-B: for the classifier's 5 million unbounded coefficients its
bound handling alone (building and checking a bound per variable) costs seconds per fit and its
Fortran iteration several times the cost of a loss evaluation. This is the textbook method
(Nocedal & Wright, algorithm 7.4 with a backtracking Armijo line search) in numpy, for smooth convex
objectives such as an L2-penalised log-loss.
"""

from __future__ import annotations

from collections import deque
from typing import Callable, Deque, Tuple

import numpy as np

Objective = Callable[[np.ndarray], Tuple[float, np.ndarray]]


def minimise(objective: Objective, start: np.ndarray, max_iter: int, history: int = 10, gtol: float = 1e-5) -> np.ndarray:
    """The minimiser of ``objective`` (value and gradient at a point) found from ``start`` within
    ``max_iter`` iterations, or once the largest gradient component is below ``gtol``."""
    x = start.copy()
    value, gradient = objective(x)
    pairs: Deque[Tuple[np.ndarray, np.ndarray, float]] = deque(maxlen=history)
    for _ in range(max_iter):
        if float(np.max(np.abs(gradient))) <= gtol:
            break
        direction = -_inverse_hessian_times(gradient, pairs)
        slope = float(gradient @ direction)
        if slope >= 0:  # not a descent direction: forget the curvature pairs, follow the gradient
            pairs.clear()
            direction, slope = -gradient, -float(gradient @ gradient)
        step = 1.0 if pairs else min(1.0, 1.0 / float(np.sqrt(gradient @ gradient)))
        while True:
            candidate = x + step * direction
            new_value, new_gradient = objective(candidate)
            if new_value <= value + 1e-4 * step * slope or step < 1e-12:
                break
            step *= 0.5
        s, y = candidate - x, new_gradient - gradient
        curvature = float(s @ y)
        if curvature > 1e-10:
            pairs.append((s, y, 1.0 / curvature))
        x, value, gradient = candidate, new_value, new_gradient
    return x


def _inverse_hessian_times(gradient: np.ndarray, pairs: Deque[Tuple[np.ndarray, np.ndarray, float]]) -> np.ndarray:
    """The two-loop recursion: the L-BFGS estimate of the inverse Hessian times ``gradient``."""
    q = gradient.copy()
    alphas = []
    for s, y, rho in reversed(pairs):
        alpha = rho * float(s @ q)
        q -= alpha * y
        alphas.append(alpha)
    if pairs:
        s, y, _ = pairs[-1]
        q *= float(s @ y) / float(y @ y)
    for (s, y, rho), alpha in zip(pairs, reversed(alphas), strict=True):
        beta = rho * float(y @ q)
        q += (alpha - beta) * s
    return q
