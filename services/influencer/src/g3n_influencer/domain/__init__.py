"""Pure domain of the influencer service: rules, state machines and money math (no I/O)."""
