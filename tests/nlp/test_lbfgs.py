"""The classifier's L-BFGS finds the same optimum as scipy's on a penalised logistic regression."""

import numpy as np
from scipy.optimize import minimize

from bot.rasa_server.nlp.lbfgs import minimise


def logistic(features, labels, penalty):
    def objective(w):
        margins = labels * (features @ w)
        loss = np.logaddexp(0, -margins).sum() + 0.5 * penalty * w @ w
        gradient = -features.T @ (labels / (1 + np.exp(margins))) + penalty * w
        return loss, gradient

    return objective


def test_same_optimum_as_scipy():
    rng = np.random.default_rng(7)
    features = rng.normal(size=(300, 20))
    labels = np.sign(features @ rng.normal(size=20) + rng.normal(scale=0.5, size=300))
    objective = logistic(features, labels, penalty=0.1)
    ours = minimise(objective, np.zeros(20), max_iter=500)
    theirs = minimize(objective, np.zeros(20), jac=True, method="L-BFGS-B", options={"gtol": 1e-10, "maxiter": 1000}).x
    assert np.allclose(ours, theirs, atol=1e-4)
    assert objective(ours)[0] <= objective(theirs)[0] + 1e-6


def test_stops_at_a_stationary_point():
    calls = []

    def bowl(x):
        calls.append(1)
        return float(x @ x), 2 * x

    assert np.allclose(minimise(bowl, np.full(5, 3.0), max_iter=100), 0.0, atol=1e-6)
    assert len(calls) < 30
