"""`python -m g3n_crm.entrypoints.http`: the crm http process."""

import gc

from g3n_kit.runtime import main

from g3n_crm.bootstrap import build


def freeze_startup_objects() -> None:
    """Move everything imported so far (modules, models, routes) out of the cyclic collector's
    sight, so its rare full collections walk only what requests left behind instead of pausing
    every in-flight request for the whole heap. The default thresholds stay: frequent, tiny
    young-generation collections suit latency better than the consumer's large ones."""
    gc.collect()
    gc.freeze()


if __name__ == "__main__":
    freeze_startup_objects()
    main("http", build)
