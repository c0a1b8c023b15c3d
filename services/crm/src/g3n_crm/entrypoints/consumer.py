"""`python -m g3n_crm.entrypoints.consumer`: the crm consumer process."""

from g3n_kit.runtime import main

from g3n_crm.bootstrap import build

if __name__ == "__main__":
    main("consumer", build)
