"""Optimizers on floats (p.data, p.grad), step for step as torch.optim; clip_grad_norm.

A grad that is a Value (after backward(create_graph=True)) is read as its number, float(grad),
as torch.optim reads a grad that has a graph: an update builds no graph."""

from __future__ import annotations

import math
from collections.abc import Iterable

from autograd import UndefinedMathError, Value, no_grad

from ._examples import real_number

__all__ = ["Optimizer", "SGD", "Adam", "RMSProp", "Adagrad", "clip_grad_norm"]


def _check(name: str, value: float, low: float = 0.0, high: float = math.inf,
           open_high: bool = False) -> float:
    """value as a float if it is a finite number in [low, high] (or [low, high)), else a
    ValueError naming the setting."""
    number = real_number(value)           # NumPy scalars too; 10**400 is beyond the range
    ok = (number is not None and math.isfinite(number)
          and (low <= number < high if open_high else low <= number <= high))
    if not ok:
        upper = "" if high == math.inf else (f" and < {high}" if open_high else f" and <= {high}")
        raise ValueError(f"invalid {name}: {value!r} (must be a finite number >= {low}{upper})")
    return number


class Optimizer:
    """Holds the parameters; `step()` updates each p.data from p.grad; `zero_grad()` resets the
    grads. `lr` is read at every step, so a schedule may change it between steps."""

    def __init__(self, params: Iterable[Value], lr: float) -> None:
        self.params = list(params)
        if not self.params:
            raise ValueError(f"{type(self).__name__} got an empty parameter list")
        for p in self.params:
            if not isinstance(p, Value):
                raise TypeError(f"{type(self).__name__}: parameters must be Values, got "
                                f"{type(p).__name__}: {p!r}")
        if len({id(p) for p in self.params}) != len(self.params):
            raise ValueError(f"{type(self).__name__}: a parameter is listed twice (it would "
                             "be updated twice per step)")
        self.lr = lr
        self.steps = 0

    @property
    def lr(self) -> float:
        return self._lr

    @lr.setter
    def lr(self, value: float) -> None:
        self._lr = _check("learning rate", value)

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = 0.0

    def step(self) -> None:
        """One update of every parameter, on floats: builds no graph. All or nothing: an
        update that would make a parameter inf or nan changes no parameter and none of the
        optimizer's state (UndefinedMathError naming the parameter)."""
        state = {name: value[:] for name, value in vars(self).items()     # m, v, buffers...
                 if type(value) is list and name != "params"}
        self.steps += 1
        try:
            with no_grad():
                new = self._update()             # the new numbers; nothing written yet
            for name, values in [("", new)] + [(name, getattr(self, name)) for name in state]:
                if not _all_finite(values):       # rare: name the parameter, change nothing
                    i, x = next((i, x) for i, x in enumerate(values)
                                if x is not None and not math.isfinite(x))
                    raise self._refused(self.params[i], x, name)
        except BaseException:
            self.steps -= 1
            vars(self).update(state)
            raise
        for p, x in zip(self.params, new):
            p.data = x

    def _update(self) -> list[float]:
        """The parameters' new numbers, in order (updating the optimizer's own state)."""
        raise NotImplementedError

    def _refused(self, p: Value, x: float, state: str = "") -> UndefinedMathError:
        what = f"{_name(p)}'s {state}" if state else _name(p)     # Adam's v: grad**2 overflows
        error = UndefinedMathError(
            f"{type(self).__name__}.step: the update would make {what} {x} (lr={self.lr:g}, "
            f"grad {float(p.grad):g}); nothing was changed: try a smaller learning rate, or "
            "clip the gradients (nn.clip_grad_norm)")
        error.node, error.result = p, x
        return error

    def __repr__(self) -> str:
        settings = ", ".join(f"{k}={v!r}" for k, v in self._settings().items())
        return f"{type(self).__name__}({len(self.params)} parameters, {settings})"

    def _settings(self) -> dict:
        return {"lr": self.lr}


def _name(p: Value) -> str:
    return repr(p.label) if p.label else "a parameter"


def _all_finite(numbers: list) -> bool:
    """No inf or nan among the numbers (None, an SGD buffer not yet started, aside)."""
    try:
        return math.isfinite(sum(numbers))       # one C-level pass; an overflow looks again
    except TypeError:
        return all(x is None or math.isfinite(x) for x in numbers)


class SGD(Optimizer):
    """Stochastic gradient descent as torch.optim.SGD:

        g = grad + weight_decay * p
        b = g (first step), then b = momentum * b + (1 - dampening) * g
        g = g + momentum * b (nesterov)  or  g = b
        p = p - lr * g
    """

    def __init__(self, params: Iterable[Value], lr: float = 0.001, momentum: float = 0.0,
                 dampening: float = 0.0, weight_decay: float = 0.0,
                 nesterov: bool = False) -> None:
        super().__init__(params, lr)
        self.momentum = _check("momentum", momentum)
        self.dampening = _check("dampening", dampening)
        self.weight_decay = _check("weight_decay", weight_decay)
        if nesterov and (momentum <= 0.0 or dampening != 0.0):
            raise ValueError("SGD: nesterov momentum needs momentum > 0 and dampening = 0")
        self.nesterov = nesterov
        self.buffers: list[float | None] = [None] * len(self.params)

    def _update(self) -> list[float]:
        lr, momentum, decay = self.lr, self.momentum, self.weight_decay
        buffers, new = self.buffers, []
        for i, p in enumerate(self.params):
            g = p.grad
            if type(g) is not float:         # a Value (backward(create_graph=True)): its number
                g = float(g)
            if decay != 0.0:
                g = g + decay * p.data
            if momentum != 0.0:
                b = buffers[i]
                b = g if b is None else b * momentum + (1.0 - self.dampening) * g
                buffers[i] = b
                g = g + momentum * b if self.nesterov else b
            new.append(p.data + -lr * g)
        return new

    def _settings(self) -> dict:
        return {"lr": self.lr, "momentum": self.momentum, "dampening": self.dampening,
                "weight_decay": self.weight_decay, "nesterov": self.nesterov}


class Adam(Optimizer):
    """Adam as torch.optim.Adam (with bias correction; eps added after the square root):

        g = grad + weight_decay * p
        m = m + (1 - beta1) * (g - m);   v = v * beta2 + (1 - beta2) * g * g
        p = p - lr / (1 - beta1**t) * m / (sqrt(v) / sqrt(1 - beta2**t) + eps)
    """

    def __init__(self, params: Iterable[Value], lr: float = 0.001,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0) -> None:
        super().__init__(params, lr)
        beta1, beta2 = betas
        self.betas = (_check("beta1", beta1, 0.0, 1.0, open_high=True),
                      _check("beta2", beta2, 0.0, 1.0, open_high=True))
        self.eps = _check("eps", eps)
        self.weight_decay = _check("weight_decay", weight_decay)
        self.m = [0.0] * len(self.params)
        self.v = [0.0] * len(self.params)

    def _update(self) -> list[float]:
        beta1, beta2 = self.betas
        eps, decay, t = self.eps, self.weight_decay, self.steps
        step_size = self.lr / (1.0 - beta1 ** t)
        correction2_sqrt = (1.0 - beta2 ** t) ** 0.5
        w1, w2 = 1.0 - beta1, 1.0 - beta2
        m, v, new = self.m, self.v, []
        for i, p in enumerate(self.params):
            g = p.grad
            if type(g) is not float:         # a Value (backward(create_graph=True)): its number
                g = float(g)
            if decay != 0.0:
                g = g + decay * p.data
            m[i] = _lerp(m[i], g, w1)
            v[i] = v[i] * beta2 + w2 * g * g
            denom = math.sqrt(v[i]) / correction2_sqrt + eps
            new.append(p.data + -step_size * (m[i] / denom))
        return new

    def _settings(self) -> dict:
        return {"lr": self.lr, "betas": self.betas, "eps": self.eps,
                "weight_decay": self.weight_decay}


def _lerp(start: float, end: float, weight: float) -> float:
    """start + weight * (end - start), evaluated as PyTorch's lerp kernel does."""
    if abs(weight) < 0.5:
        return start + weight * (end - start)
    return end - (end - start) * (1.0 - weight)


class RMSProp(Optimizer):
    """RMSprop as torch.optim.RMSprop:

        g = grad + weight_decay * p
        s = s * alpha + (1 - alpha) * g * g
        avg = sqrt(s - a * a) + eps with a = lerp(a, g, 1 - alpha) (centered), else sqrt(s) + eps
        b = momentum * b + g / avg;  p = p - lr * b   (momentum > 0)
        p = p - lr * g / avg                          (otherwise)
    """

    def __init__(self, params: Iterable[Value], lr: float = 0.01, alpha: float = 0.99,
                 eps: float = 1e-8, weight_decay: float = 0.0, momentum: float = 0.0,
                 centered: bool = False) -> None:
        super().__init__(params, lr)
        self.alpha = _check("alpha", alpha)
        self.eps = _check("eps", eps)
        self.weight_decay = _check("weight_decay", weight_decay)
        self.momentum = _check("momentum", momentum)
        self.centered = centered
        n = len(self.params)
        self.square_avg, self.grad_avg, self.buffers = [0.0] * n, [0.0] * n, [0.0] * n

    def _update(self) -> list[float]:
        lr, alpha, eps, decay = self.lr, self.alpha, self.eps, self.weight_decay
        momentum, centered = self.momentum, self.centered
        w = 1.0 - alpha
        square_avg, grad_avg, buffers = self.square_avg, self.grad_avg, self.buffers
        new = []
        for i, p in enumerate(self.params):
            g = p.grad
            if type(g) is not float:         # a Value (backward(create_graph=True)): its number
                g = float(g)
            if decay != 0.0:
                g = g + decay * p.data
            s = square_avg[i] = square_avg[i] * alpha + w * g * g
            if centered:
                a = grad_avg[i] = _lerp(grad_avg[i], g, w)
                avg = math.sqrt(s + -1.0 * a * a) + eps
            else:
                avg = math.sqrt(s) + eps
            if momentum > 0.0:
                b = buffers[i] = buffers[i] * momentum + g / avg
                new.append(p.data + -lr * b)
            else:
                new.append(p.data + -lr * (g / avg))
        return new

    def _settings(self) -> dict:
        return {"lr": self.lr, "alpha": self.alpha, "eps": self.eps,
                "weight_decay": self.weight_decay, "momentum": self.momentum,
                "centered": self.centered}


class Adagrad(Optimizer):
    """Adagrad as torch.optim.Adagrad:

        g = grad + weight_decay * p;   clr = lr / (1 + (t - 1) * lr_decay)
        s = s + g * g;                 p = p - clr * g / (sqrt(s) + eps)
    """

    def __init__(self, params: Iterable[Value], lr: float = 0.01, lr_decay: float = 0.0,
                 weight_decay: float = 0.0, initial_accumulator_value: float = 0.0,
                 eps: float = 1e-10) -> None:
        super().__init__(params, lr)
        self.lr_decay = _check("lr_decay", lr_decay)
        self.weight_decay = _check("weight_decay", weight_decay)
        self.eps = _check("eps", eps)
        start = _check("initial_accumulator_value", initial_accumulator_value)
        self.sums = [start] * len(self.params)

    def _update(self) -> list[float]:
        decay, eps, sums, new = self.weight_decay, self.eps, self.sums, []
        clr = self.lr / (1.0 + (self.steps - 1) * self.lr_decay)
        for i, p in enumerate(self.params):
            g = p.grad
            if type(g) is not float:         # a Value (backward(create_graph=True)): its number
                g = float(g)
            if decay != 0.0:
                g = g + decay * p.data
            s = sums[i] = sums[i] + g * g
            new.append(p.data + -clr * (g / (math.sqrt(s) + eps)))
        return new

    def _settings(self) -> dict:
        return {"lr": self.lr, "lr_decay": self.lr_decay, "weight_decay": self.weight_decay,
                "eps": self.eps}


def clip_grad_norm(params: Iterable[Value], max_norm: float,
                   norm_type: float = 2.0) -> float:
    """Scale the grads so that their norm is at most max_norm, as
    torch.nn.utils.clip_grad_norm_: coef = min(max_norm / (norm + 1e-6), 1).
    Returns the norm before clipping. The norm is of the grads' numbers; a grad that is a
    Value (backward(create_graph=True)) is scaled as a Value (coef a constant) when clipped,
    and left as it is when not."""
    params = list(params)
    max_norm = _check("max_norm", max_norm)
    norm_type = float(norm_type)
    grads = [float(p.grad) for p in params]         # a Value grad: its number
    if not grads:
        return 0.0
    if norm_type == math.inf:
        total = max(abs(g) for g in grads)
    elif norm_type == 2.0:
        total = math.sqrt(math.fsum(g * g for g in grads))
    elif norm_type > 0.0:
        total = math.fsum(abs(g) ** norm_type for g in grads) ** (1.0 / norm_type)
    else:
        raise ValueError(f"clip_grad_norm: norm_type must be positive or inf, got {norm_type}")
    coef = min(max_norm / (total + 1e-6), 1.0)
    for p in params:
        if coef != 1.0 or not isinstance(p.grad, Value):
            p.grad = p.grad * coef      # a Value grad stays a Value: scaled by the constant coef
    return total
