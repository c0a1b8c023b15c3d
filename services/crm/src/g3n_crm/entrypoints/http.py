"""`python -m g3n_crm.entrypoints.http`: the crm http process."""

from g3n_kit.runtime import main

from g3n_crm.bootstrap import build

if __name__ == "__main__":
    main("http", build)
