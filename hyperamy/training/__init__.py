"""Training and measuring the emotion encoder: data readers, the cached-trunk training loop,
losses, weight soups, the strength head, and the evaluations behind `hyperamy eval` and the
model card.

Inference and storage (hyperamy/encoder/, the index) never import this package. Its own
dependencies beyond the runtime's come with `pip install "hyperamy[train]"`.
"""


def require_extra(command: str) -> None:
    """Raise a clear error when the training extra is not installed (before any work is done).

    Raises:
        HyperamyError: a package of the extra is missing, named with how to install it.
    """
    import importlib.util

    from hyperamy.errors import HyperamyError

    missing = [name for name in EXTRA if importlib.util.find_spec(name) is None]
    if missing:
        raise HyperamyError(f"`hyperamy {command}` needs the training extra ({', '.join(missing)} missing): "
                            'pip install "hyperamy[train]"')


EXTRA = ("scipy",)  # what training and evaluation import beyond the runtime's packages (setup.cfg's [train])
