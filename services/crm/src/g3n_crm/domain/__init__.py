"""Pure domain of the CRM: loyalty ledger, policy arithmetic, gift cards, consent, customers."""
