-- Anonymizing a customer erases the identifiers that skipped SCM sales kept for a later claim
-- (adapters/customers.py, ERASE_SALE_REFS_SQL: one UPDATE matching the customer id, the e-mail or
-- the external ref). Only the e-mail had an index, so the statement read every sale of the table.
-- The other two identifiers get a partial index each, over the skipped sales that carry one:
-- applied sales keep no identifiers, so the SCM consumer writes no entry into them for those.
CREATE INDEX scm_sales_ref_customer ON scm_sales (ref_customer_id, org_code) WHERE ref_customer_id IS NOT NULL;
CREATE INDEX scm_sales_ref_external ON scm_sales (lower(ref_external_ref), org_code)
    WHERE ref_external_ref IS NOT NULL;
