"""Repository-wide pytest set-up: the real Kafka + PostgreSQL fixtures of g3n_devstack.

Fixtures: ``stack``, ``kafka_bootstrap``, ``fresh_dsn``, ``module_dsn``, ``fresh_topic``
(see ``g3n_devstack.pytest_plugin``). ``G3N_STACK=local|docker|auto`` picks the back end.
"""

pytest_plugins = ["g3n_devstack.pytest_plugin"]
