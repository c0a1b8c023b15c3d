"""`python -m g3n_influencer.entrypoints.http`: the influencer http process."""

from g3n_kit.runtime import main

from g3n_influencer.bootstrap import build

if __name__ == "__main__":
    main("http", build)
