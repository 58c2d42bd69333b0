"""chainrule's neural-network layer, built only from autograd Values."""

__all__: list[str] = []
