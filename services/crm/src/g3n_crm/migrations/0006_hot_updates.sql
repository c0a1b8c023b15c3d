-- Room on each page for in-place (HOT) updates of the rows every write updates: a loyalty
-- account row per ledger write (debt, total, seq, updated_at) and a gift card row per redemption
-- (balance, revision, status, updated_at); none of those columns is indexed. At the default
-- fillfactor (100) only about half of the SCM consumer's account updates were HOT; every other
-- one also inserted a primary-key index entry. Applies to pages written from now on.
ALTER TABLE loyalty_accounts SET (fillfactor = 50);
ALTER TABLE giftcards SET (fillfactor = 80);
